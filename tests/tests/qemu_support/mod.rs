//! Running the charm firmware under QEMU (mps2-an386), with weights and a
//! parameters record written to flash as a board's probe would write them.

#![allow(dead_code)] // each test binary that includes this uses a part of it

pub mod host;
pub mod models;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Start of the WEIGHTS flash region (firmware/boards/mps2-an386/memory.x).
pub const WEIGHTS_ADDR: u32 = 0x0010_0000;
/// Start of the PARAMS flash region.
pub const PARAMS_ADDR: u32 = 0x000F_F000;
/// Longest a firmware run may take before the test kills QEMU and fails.
pub const TIMEOUT: Duration = Duration::from_secs(60);
/// Exit status of the firmware for unusable weights (firmware/src/exit.rs).
pub const EXIT_BAD_WEIGHTS: i32 = 1;
/// Exit status for an unusable parameters record.
pub const EXIT_BAD_PARAMS: i32 = 2;
/// Exit status when the parameters do not fit the model.
pub const EXIT_CANNOT_GENERATE: i32 = 3;

pub use charm_tests::repo_root;

/// The firmware ELF: `$CHARM_FIRMWARE_ELF`, else where
/// `scripts/build-firmware.sh` puts it. Fails (never skips) when it is missing.
pub fn firmware_elf() -> PathBuf {
    let path = match std::env::var_os("CHARM_FIRMWARE_ELF") {
        Some(p) => PathBuf::from(p),
        None => repo_root().join("firmware/target/charm-firmware.elf"),
    };
    assert!(
        path.is_file(),
        "the firmware ELF {} does not exist: build it with scripts/build-firmware.sh \
         (./scripts/test.sh does that first), or set CHARM_FIRMWARE_ELF",
        path.display()
    );
    path
}

/// What one firmware run produced.
#[derive(Debug)]
pub struct Run {
    /// QEMU's exit status: the firmware's semihosting exit status.
    pub status: i32,
    /// Everything QEMU wrote to stdout: the UART output.
    pub stdout: Vec<u8>,
    /// QEMU's own messages.
    pub stderr: Vec<u8>,
}

impl Run {
    /// The UART output as text (lossy, for messages).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }
}

fn read_all(mut r: impl Read + Send + 'static) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = r.read_to_end(&mut buf);
        buf
    })
}

/// Runs `elf` under QEMU with `weights` loaded at [`WEIGHTS_ADDR`] and
/// `params` at [`PARAMS_ADDR`] (`None`: left as QEMU starts it, all zero).
/// Kills QEMU and panics after [`TIMEOUT`].
pub fn run_firmware(elf: &Path, weights: Option<&[u8]>, params: Option<&[u8]>) -> Run {
    let dir = tempfile::tempdir().expect("temporary directory");
    let mut cmd = Command::new("qemu-system-arm");
    cmd.args(["-machine", "mps2-an386", "-cpu", "cortex-m4", "-nographic"])
        .args(["-semihosting-config", "enable=on,target=native"])
        .arg("-kernel")
        .arg(elf);
    for (name, bytes, addr) in [
        ("weights.charm", weights, WEIGHTS_ADDR),
        ("params.bin", params, PARAMS_ADDR),
    ] {
        if let Some(bytes) = bytes {
            let path = dir.path().join(name);
            std::fs::write(&path, bytes).expect("write a flash image");
            cmd.arg("-device").arg(format!(
                "loader,file={},addr={addr:#010x},force-raw=on",
                path.display()
            ));
        }
    }
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => panic!(
            "cannot start qemu-system-arm ({e}): install it (apt-get install qemu-system-arm; \
             ./scripts/test.sh does)"
        ),
    };
    let stdout = read_all(child.stdout.take().expect("piped stdout"));
    let stderr = read_all(child.stderr.take().expect("piped stderr"));
    let start = Instant::now();
    let status = loop {
        match child.try_wait().expect("wait for QEMU") {
            Some(status) => break status,
            None if start.elapsed() > TIMEOUT => {
                let _ = child.kill();
                let _ = child.wait();
                let out = stdout.join().unwrap_or_default();
                panic!(
                    "QEMU did not exit within {TIMEOUT:?}; it printed {:?}",
                    String::from_utf8_lossy(&out)
                );
            }
            None => std::thread::sleep(Duration::from_millis(10)),
        }
    };
    let run = Run {
        status: status.code().unwrap_or(-1),
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
    };
    drop(dir);
    run
}

/// Asserts that a run printed exactly one `error: ...` line starting with
/// `prefix` and exited with `status`.
pub fn assert_refused(run: &Run, status: i32, prefix: &str) {
    let text = run.text();
    assert_eq!(
        run.status,
        status,
        "exit status; UART: {text:?}; QEMU: {}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(
        text.starts_with(prefix),
        "UART {text:?} should start with {prefix:?}"
    );
    assert!(
        text.ends_with('\n') && text.matches('\n').count() == 1,
        "UART should be one line: {text:?}"
    );
}
