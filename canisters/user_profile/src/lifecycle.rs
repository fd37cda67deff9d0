use crate::state;
use platform_types::ShardInitArgs;

pub fn init(args: ShardInitArgs) {
    state::set_init_args(args);
}

/// Everything lives in stable structures: re-reading the cell is all an upgrade needs.
pub fn post_upgrade() {
    if state::init_args().is_none() {
        ic_cdk::trap("user_profile: no init arguments in stable memory after upgrade");
    }
}
