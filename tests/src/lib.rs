//! charm-tests: end-to-end tests across the charm crates (they live in
//! `tests/`), and what those tests share.

pub mod cycle_model;
pub mod models;
pub mod speed_fit;

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

/// The repository's root directory.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// The `charm` binary: `$CHARM_BIN`, else built once per test process with
/// `cargo build --release -p charm-trainer --bin charm` into the running test's
/// target directory (a no-op when it is up to date; release, because the tests
/// train with it). `./scripts/test.sh` sets `$CHARM_BIN`.
pub fn charm_bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        if let Some(bin) = std::env::var_os("CHARM_BIN") {
            return PathBuf::from(bin);
        }
        // A test runs as <target>/<profile>/deps/<test>-<hash>.
        let exe = std::env::current_exe().expect("the test's own path");
        let target = exe
            .ancestors()
            .nth(3)
            .expect("the test binary lives in <target>/<profile>/deps")
            .to_path_buf();
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let status = Command::new(cargo)
            .args([
                "build",
                "--release",
                "-p",
                "charm-trainer",
                "--bin",
                "charm",
            ])
            .env("CARGO_TARGET_DIR", &target)
            .current_dir(repo_root())
            .status()
            .expect("run cargo build for the charm CLI");
        assert!(status.success(), "cargo build -p charm-trainer failed");
        target
            .join("release")
            .join(format!("charm{}", std::env::consts::EXE_SUFFIX))
    })
}

/// The stdout of a finished `charm ARGS` run; panics with the arguments,
/// the exit status and stderr if it failed.
pub fn succeeded<S: AsRef<OsStr>>(out: Output, args: &[S]) -> Vec<u8> {
    let shown: Vec<_> = args.iter().map(|a| a.as_ref().to_string_lossy()).collect();
    assert!(
        out.status.success(),
        "charm {} failed ({}): {}",
        shown.join(" "),
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}
