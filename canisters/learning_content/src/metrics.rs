//! learning_content's `/metrics` (Prometheus text). Served by the `http_request` query with
//! certification skipped for this path (see `http::METRICS_PATH` and the routing point in
//! `lib.rs`): the figures change with every message and certified data can only be set by
//! updates, so a verifying gateway refuses it; monitors read
//! `https://<id>.raw.icp0.io/metrics` (localnet: `<id>.raw.localhost`).

use crate::http::{HttpRequest, HttpResponse};
use crate::{state, CANISTER_NAME};
use ic_metrics_encoder::MetricsEncoder;
use platform_types::metrics::{encode_runtime, encoder, BuildLabels, CanisterRuntime};
use std::io;

/// What the exposition reads from the store.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ContentFigures {
    pub units: u64,
    pub subjects: u64,
    pub shards: u64,
    pub config_version: u64,
    pub pass_mark_percent: u8,
}

/// `/metrics` for the routing point: GET only (405 otherwise).
pub fn http_response(req: &HttpRequest) -> HttpResponse {
    platform_types::http::metrics_response(req, || {
        let runtime = CanisterRuntime {
            cycles_balance: ic_cdk::api::canister_cycle_balance(),
            heap_memory_bytes: heap_memory_bytes(),
            stable_memory_bytes: ic_cdk::stable::stable_size() * 65_536,
            now_ns: ic_cdk::api::time(),
        };
        encode(&runtime, &state::with(|s| s.metrics_figures()))
    })
}

#[cfg(target_arch = "wasm32")]
fn heap_memory_bytes() -> u64 {
    core::arch::wasm32::memory_size(0) as u64 * 65_536
}
#[cfg(not(target_arch = "wasm32"))]
fn heap_memory_bytes() -> u64 {
    0
}

pub fn encode(runtime: &CanisterRuntime, figures: &ContentFigures) -> Vec<u8> {
    let mut w = encoder(runtime.now_ns);
    encode_all(&mut w, runtime, figures).expect("writing to a Vec cannot fail");
    w.into_inner()
}

fn encode_all<W: io::Write>(w: &mut MetricsEncoder<W>, runtime: &CanisterRuntime, f: &ContentFigures) -> io::Result<()> {
    let build = BuildLabels { canister: CANISTER_NAME, version: env!("CARGO_PKG_VERSION"), git_commit: env!("BUILD_GIT_COMMIT") };
    encode_runtime(w, runtime, &build)?;
    w.encode_gauge("content_units", f.units as f64, "Units served (retired ones excluded).")?;
    w.encode_gauge("content_subjects", f.subjects as f64, "Subjects with at least one unit.")?;
    w.encode_gauge("content_shards", f.shards as f64, "Shards registered by the hub (they may call verify_quiz).")?;
    w.encode_gauge("content_config_version", f.config_version as f64, "The hub configuration version applied.")?;
    w.encode_gauge("content_pass_mark_percent", f.pass_mark_percent as f64, "Correct answers needed to pass, in percent.")
}

#[cfg(test)]
mod tests {
    use super::*;
    use platform_types::metrics::{parse_exposition, sample};

    #[test]
    fn the_exposition_parses_and_shows_the_content() {
        let figures = ContentFigures { units: 4, subjects: 2, shards: 3, config_version: 5, pass_mark_percent: 60 };
        let runtime = CanisterRuntime { cycles_balance: 9, heap_memory_bytes: 1, stable_memory_bytes: 2, now_ns: 0 };
        let text = String::from_utf8(encode(&runtime, &figures)).unwrap();
        let s = parse_exposition(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
        assert_eq!(sample(&s, "content_units", &[]), Some(4.0));
        assert_eq!(sample(&s, "content_shards", &[]), Some(3.0));
        assert_eq!(sample(&s, "content_pass_mark_percent", &[]), Some(60.0));
        assert_eq!(sample(&s, "canister_cycles_balance", &[]), Some(9.0));
    }

    #[test]
    fn the_store_reports_its_figures() {
        let memory = ic_stable_structures::DefaultMemoryImpl::default();
        let mut store = crate::state::Store::open(&ic_stable_structures::memory_manager::MemoryManager::init(memory));
        let f = store.metrics_figures();
        assert_eq!((f.units, f.subjects, f.shards), (0, 0, 0));
        store.add_shard(candid::Principal::from_slice(&[1; 10]));
        assert_eq!(store.metrics_figures().shards, 1);
    }
}
