//! `echo`: replies with its argument; the smallest possible update and query for throughput
//! benchmarks.

use serde_bytes::ByteBuf;

#[ic_cdk::update]
fn echo(data: ByteBuf) -> ByteBuf {
    data
}

#[ic_cdk::query]
fn echo_query(data: ByteBuf) -> ByteBuf {
    data
}

ic_cdk::export_candid!();

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn candid_interface_matches_committed_did_file() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("echo.did");
        platform_types::candid_check::check_service(&__export_service(), &path);
    }

    #[test]
    fn echoes() {
        let data = ByteBuf::from(vec![0, 1, 255]);
        assert_eq!(echo(data.clone()), data);
        assert_eq!(echo_query(data.clone()), data);
    }
}
