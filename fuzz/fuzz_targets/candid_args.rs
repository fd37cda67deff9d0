//! Every platform endpoint's argument decoder (as ic-cdk decodes them: skipping quota 10,000,
//! no decoding quota) on arbitrary bytes, then the endpoint's validator on what decodes. A
//! panic is a finding; so is a slow input (libFuzzer's -timeout): an argument whose decoding
//! costs far more than its size would cost its canister cycles at no cost to the sender.
#![no_main]

#[path = "common.rs"]
mod common;

use candid::utils::decode_args_with_config;
use candid::Principal;
use libfuzzer_sys::fuzz_target;
use platform_types::*;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, bytes)) = data.split_first() else { return };
    let config = common::cdk_decoder_config();
    let base = PlatformConfig::default();
    macro_rules! decode {
        ($($t:ty),+) => {
            decode_args_with_config::<($($t,)+)>(bytes, &config).ok()
        };
    }
    match selector % 24 {
        0 => {
            if let Some((p,)) = decode!(ProfileInput) {
                let _ = p.validated();
            }
        }
        1 => {
            if let Some((unit_id, answers)) = decode!(String, Vec<u32>) {
                let _ = units::validate_id(&unit_id);
                let _ = answer_keys::score([1u32; 3].into_iter(), [3u32; 3].into_iter(), &answers, 60);
            }
        }
        2 => {
            let _ = decode!(u64);
        }
        3 => {
            let _ = decode!(u64, u64);
        }
        4 => {
            let _ = decode!(Option<RegistrationProof>);
        }
        5 => {
            let _ = decode!(MintRequest);
        }
        6 => {
            let _ = decode!(ShardReport);
        }
        7 => {
            if let Some((set,)) = decode!(answer_keys::AnswerKeySet) {
                let _ = set.validate();
            }
        }
        8 => {
            if let Some((o,)) = decode!(ConfigOverrides) {
                if let Ok(c) = o.apply_to(&base) {
                    assert_eq!(c.validate(), Ok(()));
                }
                let _ = render_config_change(&base, &o);
            }
        }
        9 => {
            if let Some((e,)) = decode!(EconomicConfigChanges) {
                let _ = render_economic_config_change(&base, &e);
            }
        }
        10 => {
            if let Some((push,)) = decode!(ShardConfigPush) {
                let _ = push.config.validate();
            }
        }
        11 => {
            if let Some((args,)) = decode!(ImportUsersArgs) {
                let _ = check_page(&args.page, &args.sha256);
            }
        }
        12 => {
            let _ = decode!(DeleteProfileArgs);
        }
        13 => {
            let _ = decode!(http::HttpRequest);
        }
        14 => {
            if let Some((args,)) = decode!(AddUnitsArgs) {
                let _ = units::validate_units(&args.units);
            }
        }
        15 => {
            if let Some((args,)) = decode!(UpdateUnitArgs) {
                let _ = units::validate_unit(&args.unit);
            }
        }
        16 => {
            let _ = decode!(RetireUnitsArgs);
        }
        17 => {
            if let Some((c,)) = decode!(RolloutCommand) {
                let _ = render_rollout_command(&c);
            }
        }
        18 => {
            if let Some((args,)) = decode!(ResolveWithdrawalArgs) {
                let _ = render_withdrawal_resolution(&args);
            }
        }
        19 => {
            if let Some((args,)) = decode!(MigrateShardArgs) {
                let _ = render_migrate_shard(&args);
            }
        }
        20 => {
            if let Some((args,)) = decode!(SetRegistrationPolicyArgs) {
                let _ = render_registration_policy_change(Some(&RegistrationPolicy::Open), &args);
                if let Some(p) = &args.policy {
                    let _ = check_registration_policy(p);
                }
            }
        }
        21 => {
            if let Some((args,)) = decode!(SetShardStatusArgs) {
                let _ = render_shard_status(&args);
            }
        }
        22 => {
            if let Some((args,)) = decode!(SetPlatformPausedArgs) {
                let _ = render_platform_paused(&args);
            }
        }
        _ => {
            if let Some((args,)) = decode!(RestoreShardArgs) {
                let _ = render_restore_shard(&args, "00");
            }
            let _ = decode!(Option<Principal>, u32);
            let _ = decode!(bool, Option<u64>);
        }
    }
});
