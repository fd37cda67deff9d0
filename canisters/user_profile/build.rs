//! The build facts `get_version` reports: git commit and commit time (see canisters/build_facts).

fn main() {
    build_facts::emit();
}
