//! Shards on several subnets: a 4-subnet localnet, the local cycles minting canister (standins/cmc)
//! at its mainnet id, and a hub whose configuration (function 1001) names 3 of the subnets. Each
//! new shard is created through the CMC's `create_canister` with a subnet selection, on the named
//! subnet whose shards hold the fewest learners; learners register and pass quizzes on every
//! subnet, their calls crossing subnets (hub, learning_content and ledger are on subnet 0).

use candid::Principal;
use integration_tests::platform::{learner, LedgerKind, Platform, Quizzes};
use integration_tests::wasm;
use localnet::LocalNet;
use platform_types::cmc::{
    CreateCanisterArg, CreateCanisterError, CreateCanisterResult, CyclesCanisterInitPayload, SubnetFilter, SubnetSelection,
    MAINNET_CYCLES_MINTING_CANISTER_ID,
};
use platform_types::ConfigOverrides;

const QUIZZES: Quizzes = Quizzes { prefix: "s-", width: 0, count: 3, options: 3, key: |i| vec![(i % 3) as u32, 1] };

/// The CMC stand-in at DFINITY's CMC id (the hub's default), allowed to address every subnet's
/// management canister as the real one is.
fn install_cmc(net: &LocalNet) -> Principal {
    let cmc = net.create_canister_with_id(None, None, MAINNET_CYCLES_MINTING_CANISTER_ID).unwrap();
    let init = Some(CyclesCanisterInitPayload { ledger_canister_id: Some(Principal::from_slice(&[7; 29])), ..Default::default() });
    net.install_canister(cmc, wasm("cmc"), candid::encode_one(init).unwrap(), None);
    net.allow_subnet_addressing(cmc);
    cmc
}

#[test]
fn new_shards_spread_over_the_named_subnets_and_learners_study_on_each() {
    let net = LocalNet::builder().with_subnets(4).build();
    let cmc = install_cmc(&net);
    let subnets = net.subnet_ids();
    let named = vec![subnets[1], subnets[2], subnets[3]];
    let p = Platform::builder()
        .net(net)
        .quizzes(QUIZZES)
        .ledger(LedgerKind::None)
        .config(ConfigOverrides { shard_soft_limit: Some(2), shard_hard_limit: Some(3), ..Default::default() })
        .deploy();
    assert_eq!(p.net.subnet_of(p.hub), Some(subnets[0]));
    assert!(p.shards().is_empty(), "no shard before the first learner");
    // Function 1001's target, as SNS governance executes it.
    let change = ConfigOverrides { shard_subnets: Some(named.clone()), ..Default::default() };
    let _: () = p.update(p.hub, p.governance, "update_config", (change,));

    // 9 learners at 3 per shard: 3 shards, one per named subnet (each new one on the subnet
    // with the fewest learners: an empty one first).
    let learners: Vec<Principal> = (1..=9).map(learner).collect();
    let mut homes = Vec::new();
    for who in &learners {
        homes.push(p.register(*who).expect("registers"));
    }
    let shards: Vec<Principal> = p.shards().iter().map(|s| s.id).collect();
    assert!(shards.len() >= 3, "{shards:?}");
    let placed: Vec<Principal> = shards[..3].iter().map(|s| p.net.subnet_of(*s).unwrap()).collect();
    assert_eq!(placed, named, "one shard on each named subnet, in order");
    for shard in &shards {
        assert_ne!(p.net.subnet_of(*shard), Some(subnets[0]), "no shard on the hub's subnet");
        // The hub controls it (the CMC created it with the hub as controller).
        assert_eq!(p.net.get_controllers(*shard), vec![p.hub]);
    }

    // Every learner passes a quiz on their shard, whichever subnet it is on: the shard calls the
    // hub for allowances across subnets.
    for (n, (who, shard)) in learners.iter().zip(&homes).enumerate() {
        p.pass(*shard, *who, n % 3);
        assert_eq!(p.profile(*shard, *who).unwrap().completed_units, 1);
    }
    assert_eq!(p.stats().users, 9);
    let _ = cmc;
}

#[test]
fn the_cmc_creates_on_the_selected_subnet_and_refunds_what_it_cannot_use() {
    let net = LocalNet::builder().with_subnets(3).build();
    let cmc = install_cmc(&net);
    let caller = net.create_canister_with_cycles(None, 50_000_000_000_000);
    net.install_canister(caller, wasm("async_caller"), candid::encode_args(()).unwrap(), None);
    let subnet = net.subnet_ids()[2];

    let call = |arg: CreateCanisterArg, cycles: u128| -> (CreateCanisterResult, u128) {
        #[derive(candid::CandidType, candid::Deserialize)]
        struct CyclesReply {
            refunded: candid::Nat,
            reply: serde_bytes::ByteBuf,
        }
        #[derive(candid::CandidType, candid::Deserialize, Debug)]
        struct CallError {
            code: u32,
            message: String,
        }
        let payload = serde_bytes::ByteBuf::from(candid::encode_one(arg).unwrap());
        let (r,): (Result<CyclesReply, CallError>,) = net
            .update_candid(caller, "call_with_cycles", (cmc, "create_canister", payload, candid::Nat::from(cycles)))
            .unwrap();
        let r = r.expect("the CMC replies");
        (candid::decode_one(&r.reply).unwrap(), u128::try_from(r.refunded.0).unwrap())
    };
    let on = |selection| CreateCanisterArg { subnet_selection: Some(selection), ..Default::default() };

    let (created, refunded) = call(on(SubnetSelection::Subnet { subnet }), 1_000_000_000_000);
    let id = created.expect("created");
    assert_eq!(refunded, 0, "the CMC keeps the cycles it created with");
    assert_eq!(net.subnet_of(id), Some(subnet));
    assert_eq!(net.get_controllers(id), vec![caller], "the caller controls it");

    // Too few cycles: all refunded, nothing created.
    let before = net.canister_ids().len();
    let (r, refunded) = call(on(SubnetSelection::Subnet { subnet }), 1_000);
    assert_eq!(r, Err(CreateCanisterError::Refunded { refund_amount: 1_000u32.into(), create_error: "Insufficient cycles attached.".into() }));
    assert_eq!(refunded, 1_000);
    // A subnet that does not exist: the creation fails, the CMC keeps its 100M penalty.
    let nowhere = Principal::from_slice(&[0x33; 29]);
    let (r, refunded) = call(on(SubnetSelection::Subnet { subnet: nowhere }), 1_000_000_000_000);
    let Err(CreateCanisterError::Refunded { refund_amount, create_error }) = r else { panic!("{r:?}") };
    assert_eq!(refund_amount, candid::Nat::from(1_000_000_000_000u128 - 100_000_000));
    assert_eq!(refunded, 1_000_000_000_000 - 100_000_000);
    assert!(create_error.contains(&nowhere.to_text()), "{create_error}");
    // A subnet type: localnet has none.
    let typed = SubnetSelection::Filter(SubnetFilter { subnet_type: Some("fiduciary".into()) });
    let (r, _) = call(on(typed), 1_000_000_000_000);
    assert!(matches!(r, Err(CreateCanisterError::Refunded { create_error, .. }) if create_error.contains("fiduciary")));
    assert_eq!(net.canister_ids().len(), before, "no failed request created anything");
}
