//! The platform canisters' interfaces as their `candid/<canister>.did` files declare them, for
//! the tests that go through every method (tests/hostile_input.rs, tests/access_matrix.rs).

use candid::types::value::VariantValue;
use candid::types::{FuncMode, Label, Type, TypeEnv};
use candid::IDLValue;
use candid_parser::utils::CandidSource;
use std::path::Path;

/// One method of a service.
pub struct Method {
    pub name: String,
    pub args: Vec<Type>,
    pub rets: Vec<Type>,
    pub query: bool,
}

/// The types and the methods of `candid/<canister>.did`, in the order of
/// `candid_check::service_method_names` (the list tests/security_doc.rs reads).
pub fn interface(canister: &str) -> (TypeEnv, Vec<Method>) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join("candid").join(format!("{canister}.did"));
    let did = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let names = platform_types::candid_check::service_method_names(&did);
    let (env, actor) = CandidSource::Text(&did).load().unwrap();
    let actor = actor.unwrap();
    let service = env.as_service(&actor).unwrap().to_vec();
    let methods = names
        .into_iter()
        .map(|name| {
            let ty = &service.iter().find(|(n, _)| *n == name).unwrap().1;
            let f = env.as_func(ty).unwrap().clone();
            let query = f.modes.iter().any(|m| matches!(m, FuncMode::Query | FuncMode::CompositeQuery));
            Method { name, args: f.args, rets: f.rets, query }
        })
        .collect();
    (env, methods)
}

/// A reply value that is a method's own error: an `Err` variant (also inside an `opt`).
pub fn is_error(v: &IDLValue) -> bool {
    match v {
        IDLValue::Variant(VariantValue(f, _)) => {
            matches!(&f.id, Label::Named(n) if n == "Err") || matches!(&f.id, Label::Id(id) if *id == candid::idl_hash("Err"))
        }
        IDLValue::Opt(v) => is_error(v),
        _ => false,
    }
}
