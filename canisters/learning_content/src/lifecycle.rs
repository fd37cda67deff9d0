use crate::state;
use platform_types::ContentInitArgs;

pub fn init(args: ContentInitArgs) {
    state::set_init_args(args);
}

/// Everything lives in stable structures: re-reading the cell is all an upgrade needs.
pub fn post_upgrade() {
    if state::init_args().is_none() {
        ic_cdk::trap("learning_content: no init arguments in stable memory after upgrade");
    }
}
