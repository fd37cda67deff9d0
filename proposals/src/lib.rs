//! Builds the SNS proposals of the learn-to-earn platform, checks them, and prints them ready to
//! submit with dfx or quill. See `proposals/README.md`.
//!
//! Layout: [`cli`] parses the flags and reads the input files; [`commands`] holds one builder per
//! proposal type; [`output`] prints the Candid text and the command lines and lists the files
//! of `--out`; [`candid_text`] turns values into Candid text that provably encodes back to the
//! same bytes.

pub mod candid_text;
pub mod canister_ids;
pub mod cli;
pub mod commands;
pub mod functions;
pub mod hub_files;
pub mod meta;
pub mod network;
pub mod voter_view;
pub mod output;
pub mod units;
pub mod upgrade;
