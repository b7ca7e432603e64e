//! Running the charm firmware under QEMU, one machine per core, with weights
//! and a parameters record written to flash as a board's probe would write them.

#![allow(dead_code)] // each test binary that includes this uses a part of it

pub mod host;
pub mod models;

use charm_boards::Board;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Longest a firmware run may take before the test kills QEMU and fails.
pub const TIMEOUT: Duration = Duration::from_secs(60);
/// Exit status of the firmware for unusable weights (firmware/src/exit.rs).
pub const EXIT_BAD_WEIGHTS: i32 = 1;
/// Exit status for an unusable parameters record.
pub const EXIT_BAD_PARAMS: i32 = 2;
/// Exit status when the parameters do not fit the model.
pub const EXIT_CANNOT_GENERATE: i32 = 3;

pub use charm_tests::repo_root;

/// A QEMU machine the firmware is tested on: a board of charm-boards' table
/// that QEMU emulates, and the short name of its core in the test names
/// (`qemu_m0_...`).
#[derive(Debug, Clone, Copy)]
pub struct Machine {
    /// `m0`, `m3`, `m4`, `m7`, `m33`, `m55`, `riscv32` or `riscv32imc`.
    pub name: &'static str,
    /// The board, with its regions, capacity and QEMU command.
    pub board: Board,
}

/// Cortex-M0: QEMU `microbit` (nRF51822).
pub const M0: Machine = Machine {
    name: "m0",
    board: charm_boards::MICROBIT,
};
/// Cortex-M3: QEMU `mps2-an385`.
pub const M3: Machine = Machine {
    name: "m3",
    board: charm_boards::MPS2_AN385,
};
/// Cortex-M4F: QEMU `mps2-an386`.
pub const M4: Machine = Machine {
    name: "m4",
    board: charm_boards::MPS2_AN386,
};
/// Cortex-M7: QEMU `mps2-an500`.
pub const M7: Machine = Machine {
    name: "m7",
    board: charm_boards::MPS2_AN500,
};
/// Cortex-M33: QEMU `mps2-an505`.
pub const M33: Machine = Machine {
    name: "m33",
    board: charm_boards::MPS2_AN505,
};
/// Cortex-M55: QEMU `mps3-an547`.
pub const M55: Machine = Machine {
    name: "m55",
    board: charm_boards::MPS3_AN547,
};
/// RV32IMAC: QEMU `virt` (qemu-system-riscv32).
pub const RISCV32: Machine = Machine {
    name: "riscv32",
    board: charm_boards::RISCV32_VIRT,
};
/// RV32IMC, the ESP32-C3's instruction set: QEMU `virt` with a hart
/// without atomics or FPU, running the RV32IMC build.
pub const RISCV32IMC: Machine = Machine {
    name: "riscv32imc",
    board: charm_boards::RISCV32IMC_VIRT,
};

impl Machine {
    /// The variable naming this machine's firmware ELF: `CHARM_FIRMWARE_ELF_M0`, ...
    pub fn elf_variable(&self) -> String {
        format!("CHARM_FIRMWARE_ELF_{}", self.name.to_uppercase())
    }

    /// The firmware ELF for this machine: `$CHARM_FIRMWARE_ELF_<NAME>` (for
    /// the M4 also `$CHARM_FIRMWARE_ELF`), else where
    /// `scripts/build-firmware.sh --board BOARD` puts it. Fails (never
    /// skips) when it is missing.
    pub fn elf(&self) -> PathBuf {
        let default = match self.board.name {
            "mps2-an386" => "charm-firmware.elf".to_string(),
            board => format!("charm-firmware-{board}.elf"),
        };
        let from_env = std::env::var_os(self.elf_variable()).or_else(|| {
            (self.board.name == "mps2-an386")
                .then(|| std::env::var_os("CHARM_FIRMWARE_ELF"))
                .flatten()
        });
        let path = match from_env {
            Some(p) => PathBuf::from(p),
            None => repo_root().join("firmware/target").join(default),
        };
        assert!(
            path.is_file(),
            "the firmware ELF {} does not exist: build it with scripts/build-firmware.sh \
             --board {} (./scripts/test.sh does that first), or set {}",
            path.display(),
            self.board.name,
            self.elf_variable()
        );
        path
    }

    /// The variable naming this machine's firmware built with feature
    /// `cells`: `CHARM_FIRMWARE_CELLS_ELF_M0`, ...
    pub fn cells_elf_variable(&self) -> String {
        format!("CHARM_FIRMWARE_CELLS_ELF_{}", self.name.to_uppercase())
    }

    /// The firmware ELF built with feature `cells` (models of GRU or LSTM
    /// cells, or of several layers): `$CHARM_FIRMWARE_CELLS_ELF_<NAME>`, else
    /// `firmware/target/charm-firmware-cells-BOARD.elf`, where
    /// `scripts/test.sh` has `scripts/build-firmware.sh --board BOARD
    /// --features cells --out` put it. Fails (never skips) when it is missing.
    pub fn cells_elf(&self) -> PathBuf {
        let path = std::env::var_os(self.cells_elf_variable())
            .map(PathBuf::from)
            .unwrap_or_else(|| {
                repo_root()
                    .join("firmware/target")
                    .join(format!("charm-firmware-cells-{}.elf", self.board.name))
            });
        assert!(
            path.is_file(),
            "the firmware ELF {} does not exist: build it with scripts/build-firmware.sh \
             --board {} --features cells --out {} (./scripts/test.sh does that first), or set {}",
            path.display(),
            self.board.name,
            path.display(),
            self.cells_elf_variable()
        );
        path
    }

    /// The WEIGHTS region's address as the firmware prints it (`0x00100000`).
    pub fn weights_address(&self) -> String {
        format!("{:#010x}", self.board.weights_address)
    }

    /// The PARAMS region's address as the firmware prints it.
    pub fn params_address(&self) -> String {
        format!("{:#010x}", self.board.params_address)
    }

    /// Runs this machine's firmware ELF (see [`Machine::run_elf`]).
    pub fn run(&self, weights: Option<&[u8]>, params: Option<&[u8]>) -> Run {
        self.run_elf(&self.elf(), weights, params)
    }

    /// Runs `elf` under QEMU with `weights` loaded at the board's WEIGHTS
    /// region and `params` at its PARAMS region (`None`: left as QEMU starts
    /// it: zero, or erased flash on the micro:bit). Kills QEMU and panics
    /// after [`TIMEOUT`].
    pub fn run_elf(&self, elf: &Path, weights: Option<&[u8]>, params: Option<&[u8]>) -> Run {
        self.run_elf_with(elf, &[], weights, params)
    }

    /// Runs this machine's firmware as [`Machine::run`] does, with QEMU's
    /// trace of every executed block (`-d in_asm,exec,nochain`, one
    /// instruction a nanosecond with `-icount shift=0`) in [`Run::stderr`],
    /// for `charm_tests::cycle_model::TraceCounts`.
    pub fn run_traced(&self, weights: &[u8], params: &[u8]) -> Run {
        self.run_elf_traced(&self.elf(), weights, params)
    }

    /// [`Machine::run_traced`] of another firmware ELF of this machine (the
    /// cells build, [`Machine::cells_elf`]).
    pub fn run_elf_traced(&self, elf: &Path, weights: &[u8], params: &[u8]) -> Run {
        let trace = ["-icount", "shift=0", "-d", "in_asm,exec,nochain"];
        self.run_elf_with(elf, &trace, Some(weights), Some(params))
    }

    fn run_elf_with(
        &self,
        elf: &Path,
        extra: &[&str],
        weights: Option<&[u8]>,
        params: Option<&[u8]>,
    ) -> Run {
        let qemu = self
            .board
            .qemu
            .expect("a machine's board is one that QEMU emulates");
        let dir = tempfile::tempdir().expect("temporary directory");
        let mut cmd = Command::new(qemu.program);
        cmd.args(qemu.args)
            .arg("-nographic")
            .args(["-semihosting-config", "enable=on,target=native"])
            .args(extra)
            .arg("-kernel")
            .arg(elf);
        for (name, bytes, addr) in [
            ("weights.charm", weights, self.board.weights_address),
            ("params.bin", params, self.board.params_address),
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
        run(cmd, qemu.program)
    }
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

/// Runs a QEMU command, collecting its output; kills it and panics after [`TIMEOUT`].
fn run(mut cmd: Command, program: &str) -> Run {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => panic!(
            "cannot start {program} ({e}): install it (apt-get install qemu-system-arm \
             qemu-system-misc; ./scripts/test.sh does)"
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
    Run {
        status: status.code().unwrap_or(-1),
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
    }
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
