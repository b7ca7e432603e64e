//! Build script: puts the chosen board's memory map where cortex-m-rt's
//! `link.x` finds it, and links a model into the image when `CHARM_MODEL`
//! names a `.charm` file.

use std::env;
use std::fs;
use std::path::{Path, PathBuf};

/// The boards the firmware knows: cargo feature and directory under boards/.
const BOARDS: [(&str, &str); 2] = [
    ("CARGO_FEATURE_BOARD_MPS2_AN386", "mps2-an386"),
    ("CARGO_FEATURE_BOARD_NRF52840", "nrf52840"),
];

fn main() {
    let manifest =
        PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));

    let chosen: Vec<&str> = BOARDS
        .iter()
        .filter(|(feature, _)| env::var_os(feature).is_some())
        .map(|&(_, board)| board)
        .collect();
    let board = match chosen.as_slice() {
        [board] => *board,
        _ => panic!(
            "charm-firmware: enable exactly one board feature (board-mps2-an386 or \
             board-nrf52840), not {chosen:?}; for a board other than the default use \
             --no-default-features --features board-NAME"
        ),
    };
    copy(
        &manifest.join("boards").join(board).join("memory.x"),
        &out.join("memory.x"),
    );
    copy(
        &manifest.join("charm-regions.x"),
        &out.join("charm-regions.x"),
    );
    println!("cargo:rustc-link-search={}", out.display());
    println!("cargo:rerun-if-changed=boards");
    println!("cargo:rerun-if-changed=charm-regions.x");

    println!("cargo:rerun-if-env-changed=CHARM_MODEL");
    let linked = match env::var_os("CHARM_MODEL").filter(|p| !p.is_empty()) {
        Some(path) => linked_model(&manifest.join(path)),
        None => "/// No model is linked in: the firmware reads the WEIGHTS region as flashed.\n\
                 pub const LINKED_MODEL_PATH: Option<&str> = None;\n"
            .to_string(),
    };
    fs::write(out.join("linked_model.rs"), linked).expect("write OUT_DIR/linked_model.rs");
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
