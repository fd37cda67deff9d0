//! The platform canisters install on localnet, keep their init arguments in stable memory
//! across upgrades, and the hub embeds the shard Wasm that the build produced.

use candid::Principal;
use integration_tests::wasm;
use localnet::LocalNet;
use platform_types::{ContentInitArgs, HubInitArgs, PlatformConfig, ShardInitArgs, VersionInfo};

fn principal(n: u8) -> Principal {
    Principal::from_slice(&[n; 29])
}

fn install_and_upgrade<A>(name: &str, init: A) -> (LocalNet, Principal)
where
    A: candid::CandidType + for<'de> candid::Deserialize<'de> + PartialEq + std::fmt::Debug + Clone,
{
    let net = LocalNet::new();
    let id = net.create_canister();
    net.install_canister(id, wasm(name), candid::encode_one(init.clone()).unwrap(), None);
    let (v,): (VersionInfo,) = net.query_candid(id, "get_version", ()).unwrap();
    assert_eq!(v.canister, name);
    assert_eq!(v.version, env!("CARGO_PKG_VERSION"));
    let (stored,): (A,) = net.query_candid(id, "get_init_args", ()).unwrap();
    assert_eq!(stored, init);
    net.upgrade_canister(id, wasm(name), candid::encode_args(()).unwrap(), None).unwrap();
    let (after,): (A,) = net.query_candid(id, "get_init_args", ()).unwrap();
    assert_eq!(after, init, "{name}: init args survive an upgrade");
    (net, id)
}

#[test]
fn staking_hub_installs_upgrades_and_embeds_the_shard_wasm() {
    let init = HubInitArgs {
        ledger_id: principal(1),
        learning_content_id: principal(2),
        sns_governance_id: principal(3),
        config: None,
        registration_policy: Some(platform_types::RegistrationPolicy::Open),
        icp_refill: None,
    };
    let (net, hub) = install_and_upgrade("staking_hub", init);
    let (hash,): (String,) = net.query_candid(hub, "get_shard_wasm_hash", ()).unwrap();
    let shard = wasm("user_profile");
    assert_eq!(hash, hex_sha256(&shard), "the hub embeds exactly the packaged user_profile.wasm.gz");
}

#[test]
fn user_profile_installs_and_upgrades() {
    install_and_upgrade(
        "user_profile",
        ShardInitArgs { hub_id: principal(4), learning_content_id: principal(2), config: PlatformConfig::default(), config_version: None, module_hash: None },
    );
}

#[test]
fn learning_content_installs_and_upgrades() {
    // get_init_args returns the init arguments without their units (content and answer keys
    // live in their own stable maps; see tests/learning_content.rs), so install none here.
    install_and_upgrade(
        "learning_content",
        ContentInitArgs { hub_id: principal(4), sns_governance_id: principal(3), units: vec![], pass_mark_percent: Some(70) },
    );
}

#[test]
fn platform_canisters_reject_a_missing_init_argument() {
    let net = LocalNet::new();
    for name in ["staking_hub", "user_profile", "learning_content"] {
        let id = net.create_canister();
        let err = net
            .install_code(id, localnet::management_types::CanisterInstallMode::Install, wasm(name), vec![], None)
            .unwrap_err();
        assert_eq!(err.reject_code, localnet::RejectCode::CanisterError, "{name}");
        assert!(net.module_hash(id).is_none());
    }
}

fn hex_sha256(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}
