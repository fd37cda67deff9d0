fn main() -> std::process::ExitCode {
    proposals::cli::main()
}
