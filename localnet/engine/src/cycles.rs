//! The cycles fee schedule of a 13-node application subnet and the replica's formulas
//! (see docs/localnet.md for sources).

pub const GIB: u128 = 1 << 30;
pub const NANOS_PER_SEC: u128 = 1_000_000_000;

/// Instruction limits per message kind.
pub const MAX_INSTRUCTIONS_PER_UPDATE: u64 = 40_000_000_000;
pub const MAX_INSTRUCTIONS_PER_QUERY: u64 = 5_000_000_000;
pub const MAX_INSTRUCTIONS_PER_INSTALL: u64 = 300_000_000_000;
pub const MAX_INSTRUCTIONS_PER_INSPECT: u64 = 200_000_000;
/// Instruction limits per message kind (the IC's by default; tests may lower them).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InstructionLimits {
    /// Updates, callbacks, timers and heartbeats.
    pub update: u64,
    pub query: u64,
    /// install_code as a whole (start, init or pre_upgrade + post_upgrade).
    pub install: u64,
    pub inspect_message: u64,
}

impl InstructionLimits {
    pub const IC: InstructionLimits = InstructionLimits {
        update: MAX_INSTRUCTIONS_PER_UPDATE,
        query: MAX_INSTRUCTIONS_PER_QUERY,
        install: MAX_INSTRUCTIONS_PER_INSTALL,
        inspect_message: MAX_INSTRUCTIONS_PER_INSPECT,
    };
}

/// Message payload limit (ingress and inter-canister requests and replies).
pub const MAX_PAYLOAD_BYTES: usize = 2 * 1024 * 1024;
/// Messages the queue between two canisters holds (the IC's `DEFAULT_QUEUE_CAPACITY`, one slot
/// reserved per open call for its response): `ic0.call_perform` refuses a call beyond it (2,
/// SYS_TRANSIENT "queue full"), and no callback runs for it.
pub const MAX_OUTSTANDING_CALLS_PER_PAIR: usize = 500;
/// Non-replicated query replies may be larger.
pub const MAX_QUERY_REPLY_BYTES: usize = 3 * 1024 * 1024;
pub const DEFAULT_FREEZING_THRESHOLD_SECONDS: u64 = 2_592_000;
pub const DEFAULT_RESERVED_CYCLES_LIMIT: u128 = 5_000_000_000_000;
pub const DEFAULT_WASM_MEMORY_LIMIT: u64 = 3 << 30;
/// What `provisional_create_canister_with_cycles` gives when no amount is named.
pub const DEFAULT_PROVISIONAL_CYCLES: u128 = 100_000_000_000_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FeeSchedule {
    pub canister_creation_fee: u128,
    pub update_message_execution_fee: u128,
    /// Cycles per 10 instructions.
    pub ten_update_instructions_fee: u128,
    pub xnet_call_fee: u128,
    pub xnet_byte_transmission_fee: u128,
    pub ingress_message_reception_fee: u128,
    pub ingress_byte_reception_fee: u128,
    pub gib_storage_per_second_fee: u128,
    pub http_request_linear_baseline_fee: u128,
    pub http_request_quadratic_baseline_fee: u128,
    pub http_request_per_byte_fee: u128,
    pub http_response_per_byte_fee: u128,
    pub threshold_signature_fee: u128,
    pub subnet_size: u128,
}

impl FeeSchedule {
    /// 13-node application subnet.
    pub const APPLICATION_SUBNET: FeeSchedule = FeeSchedule {
        canister_creation_fee: 500_000_000_000,
        update_message_execution_fee: 5_000_000,
        ten_update_instructions_fee: 10,
        xnet_call_fee: 260_000,
        xnet_byte_transmission_fee: 1_000,
        ingress_message_reception_fee: 1_200_000,
        ingress_byte_reception_fee: 2_000,
        gib_storage_per_second_fee: 127_000,
        http_request_linear_baseline_fee: 3_000_000,
        http_request_quadratic_baseline_fee: 60_000,
        http_request_per_byte_fee: 400,
        http_response_per_byte_fee: 800,
        threshold_signature_fee: 10_000_000_000,
        subnet_size: 13,
    };

    pub fn execution_cost(&self, instructions: u64) -> u128 {
        self.update_message_execution_fee + instructions as u128 * self.ten_update_instructions_fee / 10
    }

    /// What a call reserves at `call_perform`: transmission plus the largest possible
    /// response and its execution (what `ic0.cost_call` reports). Excludes attached cycles.
    pub fn call_cost(&self, method_name_bytes: u64, payload_bytes: u64) -> u128 {
        self.xnet_call_fee
            + self.xnet_byte_transmission_fee * (method_name_bytes as u128 + payload_bytes as u128)
            + self.response_reservation()
    }

    /// Reserved for the response of a call: its transmission at the maximum size and its execution.
    pub fn response_reservation(&self) -> u128 {
        self.xnet_byte_transmission_fee * MAX_PAYLOAD_BYTES as u128 + self.execution_cost(MAX_INSTRUCTIONS_PER_UPDATE)
    }

    pub fn ingress_cost(&self, bytes: usize) -> u128 {
        self.ingress_message_reception_fee + self.ingress_byte_reception_fee * bytes as u128
    }

    /// Storage cost of `bytes` held for `nanos`.
    pub fn storage_cost(&self, bytes: u64, nanos: u64) -> u128 {
        bytes as u128 * self.gib_storage_per_second_fee * nanos as u128 / (GIB * NANOS_PER_SEC)
    }

    /// Cycles a canister burns per day while idle (memory only; no compute allocation here).
    pub fn idle_cycles_per_day(&self, memory_bytes: u64) -> u128 {
        self.storage_cost(memory_bytes, 86_400 * 1_000_000_000)
    }

    /// The balance below which a canister is frozen.
    pub fn freezing_threshold_cycles(&self, memory_bytes: u64, freezing_threshold_s: u64, reserved: u128) -> u128 {
        (self.idle_cycles_per_day(memory_bytes) * freezing_threshold_s as u128 / 86_400).saturating_sub(reserved)
    }

    pub fn http_request_cost(&self, request_bytes: u64, max_response_bytes: u64) -> u128 {
        let n = self.subnet_size;
        (self.http_request_linear_baseline_fee + self.http_request_quadratic_baseline_fee * n) * n
            + (self.http_request_per_byte_fee * request_bytes as u128
                + self.http_response_per_byte_fee * max_response_bytes as u128)
                * n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fees_match_the_published_schedule() {
        let f = FeeSchedule::APPLICATION_SUBNET;
        assert_eq!(f.execution_cost(1_000), 5_001_000);
        // 13 nodes: 49.14M base, 5,200 per request byte, 10,400 per response byte.
        assert_eq!(f.http_request_cost(0, 0), 49_140_000);
        assert_eq!(f.http_request_cost(1, 1), 49_140_000 + 5_200 + 10_400);
        // About 329B cycles per GiB per 30 days.
        assert_eq!(f.storage_cost(GIB as u64, 30 * 86_400 * 1_000_000_000), 329_184_000_000);
        assert_eq!(f.freezing_threshold_cycles(GIB as u64, 2_592_000, 0), 329_184_000_000);
        assert_eq!(f.call_cost(3, 4), 260_000 + 7_000 + 1_000 * 2_097_152 + 40_005_000_000);
    }
}
