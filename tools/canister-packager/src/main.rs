//! Command line of the canister packager; see the library documentation.

use anyhow::{bail, Context, Result};
use std::path::PathBuf;

const USAGE: &str = "\
usage:
  canister-packager --wasm <in.wasm> --did <interface.did> --name <name> --out <dir> [--build-tag <text>]
      shrink <in.wasm>, embed <interface.did> as public metadata candid:service, gzip it
      deterministically and write <dir>/<name>.wasm.gz and <dir>/<name>.wasm.gz.sha256;
      --build-tag adds public metadata build_tag (same code, another module hash)
  canister-packager info <file.wasm|file.wasm.gz>
      list the imports, exports and metadata of a module";

fn main() {
    if let Err(e) = run(std::env::args().skip(1).collect()) {
        eprintln!("canister-packager: error: {e:#}");
        std::process::exit(1);
    }
}

fn run(args: Vec<String>) -> Result<()> {
    if args.first().map(String::as_str) == Some("info") {
        let [_, path] = args.as_slice() else {
            bail!("{USAGE}")
        };
        let bytes = std::fs::read(path).with_context(|| format!("cannot read {path}"))?;
        print!("{}", canister_packager::describe(&bytes)?);
        return Ok(());
    }
    let (mut wasm, mut did, mut name, mut out, mut tag) = (None, None, None, None, None);
    let mut it = args.into_iter();
    while let Some(flag) = it.next() {
        let slot = match flag.as_str() {
            "--wasm" => &mut wasm,
            "--did" => &mut did,
            "--name" => &mut name,
            "--out" => &mut out,
            "--build-tag" => &mut tag,
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(());
            }
            other => bail!("unknown argument {other:?}\n{USAGE}"),
        };
        *slot = Some(
            it.next()
                .with_context(|| format!("{flag} needs a value\n{USAGE}"))?,
        );
    }
    let (Some(wasm), Some(did), Some(name), Some(out)) = (wasm, did, name, out) else {
        bail!("--wasm, --did, --name and --out are all required\n{USAGE}");
    };
    let p = canister_packager::package_tagged(
        &PathBuf::from(wasm),
        &PathBuf::from(did),
        &name,
        &PathBuf::from(out),
        tag.as_deref(),
    )?;
    println!(
        "{name}: raw {} B -> shrunk {} B -> gzip {} B, sha256 {}  ({})",
        p.raw_size,
        p.shrunk_size,
        p.gz_size,
        p.sha256_hex,
        p.gz_path.display()
    );
    Ok(())
}
