//! `ic_cdk::api::time` for ic-verifiable-credentials (see Cargo.toml for why this crate exists).

pub mod api {
    /// The IC's time in nanoseconds since the Unix epoch (`ic0.time`). Off the IC (native unit
    /// tests of the canisters that link the credential code) the host clock.
    pub fn time() -> u64 {
        #[cfg(target_arch = "wasm32")]
        {
            ic0::time()
        }
        #[cfg(not(target_arch = "wasm32"))]
        {
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(0)
        }
    }
}
