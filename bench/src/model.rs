//! The pure parts of the benchmark: statistics, the MemoryManager layout of a canister's stable
//! memory, and the cost model (cycles per learner-day, USD per month, the fee floor).

use localnet::FeeSchedule;

/// USD per XDR used to turn cycles into dollars (1 T cycles = 1 XDR by the cycles minting
/// canister's definition). The rate moves; 1.33 is the IMF's SDR rate in late 2024-2025 (about
/// 1.30-1.38 USD). Change it here and rerun: nothing else depends on it.
pub const USD_PER_XDR: f64 = 1.33;
pub const CYCLES_PER_XDR: f64 = 1e12;
/// Days in the month of the USD figures.
pub const DAYS_PER_MONTH: f64 = 30.0;
pub const GIB: f64 = (1u64 << 30) as f64;

/// Median (the upper one of an even count) and maximum.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Spread {
    pub median: u64,
    pub max: u64,
}

pub fn spread(values: &[u64]) -> Spread {
    assert!(!values.is_empty(), "a spread of no values");
    let mut v = values.to_vec();
    v.sort_unstable();
    Spread { median: v[v.len() / 2], max: v[v.len() - 1] }
}

/// Page sizes of the virtual memories an ic-stable-structures `MemoryManager` (layout v1) keeps
/// in its header at offset 0: `MGR`, version, bucket count (u16), bucket size in pages (u16),
/// 32 reserved bytes, then 255 little-endian u64 page counts. Answers (memory id, pages) for
/// every memory with pages, or None when the memory does not start with that header.
pub fn memory_manager_sizes(stable: &[u8]) -> Option<Vec<(u8, u64)>> {
    const SIZES_OFFSET: usize = 3 + 1 + 2 + 2 + 32;
    const MEMORIES: usize = 255;
    if stable.len() < SIZES_OFFSET + 8 * MEMORIES || &stable[..3] != b"MGR" || stable[3] != 1 {
        return None;
    }
    let sizes = (0..MEMORIES)
        .filter_map(|id| {
            let at = SIZES_OFFSET + 8 * id;
            let pages = u64::from_le_bytes(stable[at..at + 8].try_into().unwrap());
            (pages > 0).then_some((id as u8, pages))
        })
        .collect();
    Some(sizes)
}

/// What a learner does on an average day (issue 14 §1).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DailyProfile {
    pub profile_reads: f64,
    pub unit_reads: f64,
    pub quiz_submissions: f64,
    pub withdrawals: f64,
}

pub const ISSUE_PROFILE: DailyProfile =
    DailyProfile { profile_reads: 1.0, unit_reads: 3.0, quiz_submissions: 2.0, withdrawals: 0.1 };

/// Cycles of each operation of the daily profile, and the stable bytes a learner keeps.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct OperationCycles {
    /// Queries: the IC charges no cycles for query calls today (localnet neither).
    pub profile_read: f64,
    pub unit_read: f64,
    pub quiz_submission: f64,
    pub withdrawal: f64,
    /// Stable-memory bytes held per learner (shard plus hub index).
    pub stored_bytes_per_learner: f64,
    /// The learner's share of what the platform's timers cost a day with nobody doing
    /// anything (`idle`); the floor's is 0.
    pub idle_per_learner_day: f64,
}

/// Storage cycles per day of `bytes` (the fee is per GiB per second).
pub fn storage_cycles_per_day(fees: &FeeSchedule, bytes: f64) -> f64 {
    bytes * fees.gib_storage_per_second_fee as f64 * 86_400.0 / GIB
}

/// Cycles per learner per day: operations times their daily count, plus a day of storage.
pub fn cycles_per_learner_day(fees: &FeeSchedule, profile: &DailyProfile, ops: &OperationCycles) -> f64 {
    profile.profile_reads * ops.profile_read
        + profile.unit_reads * ops.unit_read
        + profile.quiz_submissions * ops.quiz_submission
        + profile.withdrawals * ops.withdrawal
        + storage_cycles_per_day(fees, ops.stored_bytes_per_learner)
        + ops.idle_per_learner_day
}

/// USD per month for `learners` daily active learners at `cycles_per_learner_day`.
pub fn usd_per_month(cycles_per_learner_day: f64, learners: f64) -> f64 {
    cycles_per_learner_day * learners * DAYS_PER_MONTH / CYCLES_PER_XDR * USD_PER_XDR
}

/// The least any design pays for the same profile (ingress bytes as the measured calls send
/// them): a quiz submission is one ingress message and one update execution at its base fee
/// (verified where it lands); a withdrawal is one ingress message and its execution, plus the
/// one call that cannot be avoided, to the ledger (transmission, the ledger's execution, the
/// callback's execution); reads are queries; storage at the §2 byte targets.
pub fn floor_cycles(fees: &FeeSchedule, quiz_ingress_bytes: usize, withdrawal_ingress_bytes: usize, floor_bytes: f64) -> OperationCycles {
    let base = fees.update_message_execution_fee as f64;
    OperationCycles {
        profile_read: 0.0,
        unit_read: 0.0,
        quiz_submission: fees.ingress_cost(quiz_ingress_bytes) as f64 + base,
        withdrawal: fees.ingress_cost(withdrawal_ingress_bytes) as f64 + base + fees.xnet_call_fee as f64 + base + base,
        stored_bytes_per_learner: floor_bytes,
        idle_per_learner_day: 0.0,
    }
}

/// The cycles an operation's executions, ingress message and calls cost by the fee schedule,
/// leaving out transmitted bytes between canisters (what localnet charges beside this is those
/// bytes, and storage over the rounds the operation takes).
pub fn modelled_cycles(fees: &FeeSchedule, instructions_per_execution: &[u64], ingress_bytes: usize, calls: usize) -> u128 {
    fees.ingress_cost(ingress_bytes)
        + instructions_per_execution.iter().map(|i| fees.execution_cost(*i)).sum::<u128>()
        + calls as u128 * fees.xnet_call_fee
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spread_is_upper_median_and_max() {
        assert_eq!(spread(&[5, 1, 3]), Spread { median: 3, max: 5 });
        assert_eq!(spread(&[4, 1, 3, 2]), Spread { median: 3, max: 4 });
        assert_eq!(spread(&[7]), Spread { median: 7, max: 7 });
    }

    #[test]
    fn memory_manager_header_is_read() {
        let mut mem = vec![0u8; 3 * 65_536];
        mem[..4].copy_from_slice(b"MGR\x01");
        mem[4..6].copy_from_slice(&3u16.to_le_bytes());
        mem[6..8].copy_from_slice(&128u16.to_le_bytes());
        mem[40 + 8 * 2..40 + 8 * 3].copy_from_slice(&17u64.to_le_bytes());
        mem[40 + 8 * 60..40 + 8 * 61].copy_from_slice(&1u64.to_le_bytes());
        assert_eq!(memory_manager_sizes(&mem), Some(vec![(2, 17), (60, 1)]));
        mem[0] = b'X';
        assert_eq!(memory_manager_sizes(&mem), None);
        assert_eq!(memory_manager_sizes(&[]), None);
    }

    #[test]
    fn cost_model_matches_the_fee_schedule() {
        let f = FeeSchedule::APPLICATION_SUBNET;
        // A GiB for a day: 127K cycles per second.
        assert_eq!(storage_cycles_per_day(&f, GIB), 127_000.0 * 86_400.0);
        // Floor: quiz = 1.2M + 2,000 x 40 bytes + 5M; withdrawal = 1.2M + 2,000 x 20 + 5M + 260K + 5M + 5M.
        let floor = floor_cycles(&f, 40, 20, 0.0);
        assert_eq!(floor.quiz_submission, 6_280_000.0);
        assert_eq!(floor.withdrawal, 16_500_000.0);
        let day = cycles_per_learner_day(&f, &ISSUE_PROFILE, &floor);
        assert!((day - (2.0 * 6_280_000.0 + 0.1 * 16_500_000.0)).abs() < 1e-6, "{day}");
        // 1 T cycles a day for a month is 30 XDR.
        assert!((usd_per_month(1e12, 1.0) - 30.0 * USD_PER_XDR).abs() < 1e-9);
        // Queries cost nothing, so reads do not move the total.
        let reads = DailyProfile { profile_reads: 100.0, ..ISSUE_PROFILE };
        assert_eq!(cycles_per_learner_day(&f, &reads, &floor), day);
        // The idle platform's share is added as it is.
        let idle = OperationCycles { idle_per_learner_day: 12_345.0, ..floor };
        assert!((cycles_per_learner_day(&f, &ISSUE_PROFILE, &idle) - day - 12_345.0).abs() < 1e-6);
        // Two executions of 1,000 instructions, one call, 10 ingress bytes.
        assert_eq!(modelled_cycles(&f, &[1_000, 1_000], 10, 1), 1_220_000 + 2 * 5_001_000 + 260_000);
    }
}
