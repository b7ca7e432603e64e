//! `charm-params`: writes the sampling-parameters record the charm firmware
//! reads from its PARAMS flash region (format: firmware/params/src/lib.rs and
//! docs/file-format.md).
//!
//! ```text
//! cargo run -p charm-tests --bin charm-params -- \
//!     --len 300 --temperature 0.8 --seed 7 --prime "ROMEO:" --out params.bin
//! ```
//!
//! The flags and defaults are those of `charm sample`, so the firmware with the
//! record prints what `charm sample` with the same flags prints. Users have
//! `charm sample --record FILE`, which writes the record for exactly the
//! flags it sampled with; this tool is the record writer on its own.

use charm_params::Params;
use std::path::PathBuf;
use std::process::ExitCode;

const USAGE: &str = "usage: charm-params [--len N] [--temperature F] [--seed S] [--top-k K] \
                     [--prime TEXT] --out FILE\n\n\
                     Writes the sampling-parameters record the charm firmware reads from its \
                     PARAMS flash region.\nThe flags and defaults are those of `charm sample` \
                     (200, 1.0, 1, 0, no prime), which writes the same record with --record FILE.";

/// The parsed command line.
struct Args {
    len: u32,
    temperature: f32,
    seed: u64,
    top_k: u32,
    prime: String,
    out: PathBuf,
}

fn value<T: std::str::FromStr>(flag: &str, v: Option<String>) -> Result<T, String> {
    let v = v.ok_or_else(|| format!("{flag} needs a value"))?;
    v.parse()
        .map_err(|_| format!("{flag}: {v:?} is not a valid value"))
}

/// The parsed flags, or `None` for `--help`.
fn parse_args(mut it: impl Iterator<Item = String>) -> Result<Option<Args>, String> {
    let defaults = Params::default();
    let (mut len, mut temperature, mut seed, mut top_k) = (
        defaults.len,
        defaults.temperature,
        defaults.seed,
        defaults.top_k,
    );
    let (mut prime, mut out) = (String::new(), None);
    while let Some(flag) = it.next() {
        match flag.as_str() {
            "--len" => len = value(&flag, it.next())?,
            "--temperature" => temperature = value(&flag, it.next())?,
            "--seed" => seed = value(&flag, it.next())?,
            "--top-k" => top_k = value(&flag, it.next())?,
            "--prime" => prime = value(&flag, it.next())?,
            "--out" => out = Some(PathBuf::from(value::<String>(&flag, it.next())?)),
            "-h" | "--help" => return Ok(None),
            other => return Err(format!("unknown argument {other:?}\n{USAGE}")),
        }
    }
    let out = out.ok_or_else(|| format!("--out is required\n{USAGE}"))?;
    Ok(Some(Args {
        len,
        temperature,
        seed,
        top_k,
        prime,
        out,
    }))
}

fn run() -> Result<(), String> {
    let Some(args) = parse_args(std::env::args().skip(1))? else {
        println!("{USAGE}");
        return Ok(());
    };
    let params = Params {
        len: args.len,
        temperature: args.temperature,
        seed: args.seed,
        top_k: args.top_k,
        prime: &args.prime,
    };
    let bytes = params
        .to_bytes()
        .map_err(|e| format!("cannot write the record: {e}"))?;
    if bytes.len() > 4096 {
        return Err(format!(
            "the record is {} bytes, more than the 4096-byte PARAMS region: use a shorter --prime",
            bytes.len()
        ));
    }
    // Written beside the target, then renamed: an existing file is never half-overwritten.
    let tmp = args.out.with_extension("params.tmp");
    std::fs::write(&tmp, &bytes)
        .and_then(|()| std::fs::rename(&tmp, &args.out))
        .map_err(|e| format!("cannot write {}: {e}", args.out.display()))?;
    Ok(())
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
