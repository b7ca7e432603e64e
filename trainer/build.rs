//! The built-in corpus of `charm train` (`files::corpus::DEFAULT_CORPUS`):
//! charm's own source code, concatenated into `$OUT_DIR/default_corpus.txt`.
//!
//! In the repository it is charm-core's sources and the trainer's, in the
//! order below. A published charm-trainer package holds only its own
//! directory, so there the charm-core files are left out (the text is the
//! trainer's part alone) and the build says so.

use std::path::Path;

/// Relative to this crate's directory.
const SOURCES: [&str; 28] = [
    "../core/src/lib.rs",
    "../core/src/model/mod.rs",
    "../core/src/model/error.rs",
    "../core/src/model/rnn.rs",
    "../core/src/kernels/mod.rs",
    "../core/src/format/mod.rs",
    "../core/src/format/header.rs",
    "../core/src/format/error.rs",
    "../core/src/format/weights.rs",
    "../core/src/format/decode.rs",
    "../core/src/format/encode.rs",
    "../core/src/sample/mod.rs",
    "../core/src/sample/generator.rs",
    "../core/src/sample/sampler.rs",
    "../core/src/sample/softmax.rs",
    "../core/src/vocab.rs",
    "../core/src/math/float.rs",
    "../core/src/math/tanh.rs",
    "../core/src/sample/rng.rs",
    "src/lib.rs",
    "src/math/params.rs",
    "src/math/reference/mod.rs",
    "src/math/engine.rs",
    "src/math/optim.rs",
    "src/files/corpus.rs",
    "src/training/mod.rs",
    "src/training/run.rs",
    "src/error.rs",
];

fn main() {
    let crate_dir = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let out_dir = std::env::var("OUT_DIR").expect("cargo sets OUT_DIR");
    let mut corpus = String::new();
    let mut missing = 0;
    for source in SOURCES {
        let path = Path::new(&crate_dir).join(source);
        println!("cargo:rerun-if-changed={}", path.display());
        match std::fs::read_to_string(&path) {
            Ok(text) => corpus.push_str(&text),
            Err(_) if source.starts_with("../") => missing += 1,
            Err(e) => panic!("cannot read {}: {e}", path.display()),
        }
    }
    if missing > 0 {
        println!(
            "cargo:warning=the built-in corpus is the trainer's own sources ({missing} charm-core files are not in this package)"
        );
    }
    std::fs::write(Path::new(&out_dir).join("default_corpus.txt"), corpus)
        .expect("write the built-in corpus");
}
