use crate::state;
use platform_types::HubInitArgs;

pub fn init(args: HubInitArgs) {
    state::set_init_args(args);
}

/// Everything lives in stable structures: re-reading the cell is all an upgrade needs.
pub fn post_upgrade() {
    if state::init_args().is_none() {
        ic_cdk::trap("staking_hub: no init arguments in stable memory after upgrade");
    }
}
