//! Shared by the fuzz targets: a reader that turns the fuzzer's bytes into values, and the
//! decoder configuration ic-cdk's `#[update]`/`#[query]` use for arguments.
#![allow(dead_code)]

pub struct Bytes<'a>(pub &'a [u8]);

impl Bytes<'_> {
    pub fn u8(&mut self) -> u8 {
        match self.0.split_first() {
            Some((b, rest)) => {
                self.0 = rest;
                *b
            }
            None => 0,
        }
    }
    pub fn bool(&mut self) -> bool {
        self.u8() & 1 == 1
    }
    pub fn u64(&mut self) -> u64 {
        // Often a bound-ish value, sometimes any.
        match self.u8() % 8 {
            0 => 0,
            1 => 1,
            2 => u64::MAX,
            3 => u64::from(self.u8()),
            _ => (0..8).fold(0u64, |n, _| (n << 8) | u64::from(self.u8())),
        }
    }
    pub fn u128(&mut self) -> u128 {
        match self.u8() % 4 {
            0 => u128::MAX,
            1 => u128::from(self.u64()) * 1_000_000,
            _ => u128::from(self.u64()),
        }
    }
    pub fn opt<T>(&mut self, f: impl FnOnce(&mut Self) -> T) -> Option<T> {
        self.bool().then(|| f(self))
    }
    /// A string of up to `max` bytes of the input (lossy UTF-8).
    pub fn string(&mut self, max: usize) -> String {
        let n = (usize::from(self.u8()) * 2).min(max).min(self.0.len());
        let (s, rest) = self.0.split_at(n);
        self.0 = rest;
        String::from_utf8_lossy(s).into_owned()
    }
    pub fn rest(&self) -> &[u8] {
        self.0
    }
}

/// What ic-cdk 0.20's entry points decode arguments with (ic-cdk-macros `export.rs`).
pub fn cdk_decoder_config() -> candid::DecoderConfig {
    let mut config = candid::DecoderConfig::new();
    config.set_skipping_quota(10_000);
    config
}
