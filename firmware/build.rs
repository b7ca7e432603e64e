//! Build script: checks that the board chosen by its `board-NAME` feature is
//! built for its core (Rust target, `-C target-cpu` or `-C target-feature`,
//! the `dsp` feature, all from charm-boards' table), puts its memory map where the runtime's
//! `link.x` finds it, and links a model into the image when `CHARM_MODEL`
//! names a `.charm` file.

use charm_boards::{Board, BOARDS};
use std::env;
use std::fs;
use std::path::{Path, PathBuf};

/// The cargo feature of a board, as cargo shows it to build scripts.
fn feature_var(board: &Board) -> String {
    format!(
        "CARGO_FEATURE_BOARD_{}",
        board.name.to_uppercase().replace('-', "_")
    )
}

fn main() {
    let manifest =
        PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));

    let chosen: Vec<&Board> = BOARDS
        .iter()
        .filter(|b| env::var_os(feature_var(b)).is_some())
        .collect();
    let board = match chosen.as_slice() {
        [board] => *board,
        _ => {
            let names: Vec<&str> = chosen.iter().map(|b| b.name).collect();
            panic!(
                "charm-firmware: enable exactly one board feature, not {names:?}; build with \
                 scripts/build-firmware.sh --board NAME (boards: {})",
                board_names()
            )
        }
    };
    check_core(board);

    copy(
        &manifest.join("boards").join(board.name).join("memory.x"),
        &out.join("memory.x"),
    );
    copy(
        &manifest.join("charm-regions.x"),
        &out.join("charm-regions.x"),
    );
    // cortex-m-rt's feature `device` includes device.x, a device crate's list
    // of interrupt handler names; the firmware handles no interrupt
    // (src/cpu/vector_table.rs).
    write(&out.join("device.x"), "");
    println!("cargo:rustc-link-search={}", out.display());
    // cortex-m-rt's link.x includes memory.x itself; riscv-rt's expects it first.
    if board.core.rust_target.starts_with("riscv") {
        println!("cargo:rustc-link-arg=-Tmemory.x");
    }
    println!("cargo:rustc-link-arg=-Tlink.x");
    println!("cargo:rerun-if-changed=boards");
    println!("cargo:rerun-if-changed=charm-regions.x");

    println!("cargo:rerun-if-env-changed=CHARM_MODEL");
    let linked = match env::var_os("CHARM_MODEL").filter(|p| !p.is_empty()) {
        // The ESP-IDF bootloader maps one segment of read-only data: a model
        // in a second one would not be mapped where the firmware reads it.
        Some(_) if board.name == "esp32c3" => panic!(
            "charm-firmware: board esp32c3 reads its model from flash offset 0x110000 only; \
             build without --model and write the file with `espflash write-bin 0x110000 \
             model.charm`"
        ),
        Some(path) => linked_model(&manifest.join(path)),
        None => "/// No model is linked in: the firmware reads the WEIGHTS region as flashed.\n\
                 pub const LINKED_MODEL_PATH: Option<&str> = None;\n"
            .to_string(),
    };
    write(&out.join("linked_model.rs"), &linked);
}

fn board_names() -> String {
    BOARDS.iter().map(|b| b.name).collect::<Vec<_>>().join(", ")
}

/// Refuses a build for another target, without the core's code generation
/// options (or with another CPU or target features), or with the DSP path
/// on a core that lacks it (or without it on one that has it): each would
/// build, and run wrongly or slowly.
fn check_core(board: &Board) {
    let core = &board.core;
    let how = format!(
        "build with scripts/build-firmware.sh --board {}",
        board.name
    );
    let target = env::var("TARGET").expect("cargo sets TARGET");
    if target != core.rust_target {
        panic!(
            "charm-firmware: board {} ({}) is built for {}, not {target}; {how}",
            board.name, core.name, core.rust_target
        );
    }
    let rustflags = env::var("CARGO_ENCODED_RUSTFLAGS").unwrap_or_default();
    let mut found = target_options(&rustflags);
    let mut wanted: Vec<&str> = core.codegen.to_vec();
    found.sort_unstable();
    wanted.sort_unstable();
    if found != wanted {
        let shown = |options: &[&str]| match options {
            [] => "none".to_string(),
            _ => options
                .iter()
                .map(|o| format!("-C {o}"))
                .collect::<Vec<_>>()
                .join(" "),
        };
        panic!(
            "charm-firmware: board {} ({}) needs the code generation options {}, the build \
             has {}; {how}",
            board.name,
            core.name,
            shown(&wanted),
            shown(&found)
        );
    }
    let dsp = env::var_os("CARGO_FEATURE_DSP").is_some();
    if dsp != core.int8_dsp {
        panic!(
            "charm-firmware: feature dsp is {} but the {} of board {} {} the DSP extension",
            if dsp { "on" } else { "off" },
            core.name,
            board.name,
            if core.int8_dsp { "has" } else { "lacks" }
        );
    }
    let helium = env::var_os("CARGO_FEATURE_HELIUM").is_some();
    if helium != core.int8_helium {
        panic!(
            "charm-firmware: feature helium is {} but the {} of board {} {} Helium (MVE)",
            if helium { "on" } else { "off" },
            core.name,
            board.name,
            if core.int8_helium { "has" } else { "lacks" }
        );
    }
    println!("cargo:rerun-if-env-changed=CARGO_ENCODED_RUSTFLAGS");
}

/// The `-C target-cpu=...` and `-C target-feature=...` options (also
/// written `-Ctarget-cpu=...`) of the encoded flags.
fn target_options(encoded_rustflags: &str) -> Vec<&str> {
    let mut options = Vec::new();
    let mut after_c = false;
    for flag in encoded_rustflags.split('\x1f') {
        let codegen = if after_c {
            Some(flag)
        } else {
            flag.strip_prefix("-C")
        };
        if let Some(option) =
            codegen.filter(|o| o.starts_with("target-cpu=") || o.starts_with("target-feature="))
        {
            options.push(option);
        }
        after_c = flag == "-C";
    }
    options
}

fn write(path: &Path, contents: &str) {
    if let Err(e) = fs::write(path, contents) {
        panic!("charm-firmware: cannot write {}: {e}", path.display());
    }
}

fn copy(from: &Path, to: &Path) {
    if let Err(e) = fs::copy(from, to) {
        panic!(
            "charm-firmware: cannot copy {} to {}: {e}",
            from.display(),
            to.display()
        );
    }
}

/// Rust source that places the file at `path` in section `.charm_weights`,
/// which `charm-regions.x` puts at the start of the WEIGHTS region.
fn linked_model(path: &Path) -> String {
    let path = match path.canonicalize() {
        Ok(p) => p,
        Err(e) => panic!(
            "charm-firmware: CHARM_MODEL={} cannot be read: {e} (give an absolute path, or \
             one relative to firmware/)",
            path.display()
        ),
    };
    println!("cargo:rerun-if-changed={}", path.display());
    let bytes = match fs::read(&path) {
        Ok(b) => b,
        Err(e) => panic!(
            "charm-firmware: CHARM_MODEL={} cannot be read: {e}",
            path.display()
        ),
    };
    if !bytes.starts_with(b"CHRM") {
        panic!(
            "charm-firmware: CHARM_MODEL={} is not a charm weight file (it does not start \
             with CHRM); make one with `charm train`",
            path.display()
        );
    }
    let shown = path.display().to_string();
    format!(
        "/// The model linked in at build time (`CHARM_MODEL`), {len} bytes.\n\
         #[used]\n\
         #[link_section = \".charm_weights\"]\n\
         static LINKED_MODEL: crate::flash::Aligned<[u8; {len}]> =\n    \
             crate::flash::Aligned(*include_bytes!({shown:?}));\n\
         /// Where the linked model came from.\n\
         pub const LINKED_MODEL_PATH: Option<&str> = Some({shown:?});\n",
        len = bytes.len(),
    )
}
