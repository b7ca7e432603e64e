//! The committed `include/charm.h` is what cbindgen generates from the
//! sources now, with `cbindgen.toml`.
//!
//! `CHARM_WRITE_HEADER=1 cargo test -p charm-c --test header` writes it.

use std::path::Path;

#[test]
fn committed_header_is_generated_from_the_sources() {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let config = cbindgen::Config::from_file(crate_dir.join("cbindgen.toml"))
        .expect("read capi/cbindgen.toml");
    let mut generated = Vec::new();
    cbindgen::Builder::new()
        .with_crate(crate_dir)
        .with_config(config)
        .generate()
        .expect("cbindgen generates the header")
        .write(&mut generated);
    let generated = String::from_utf8(generated).expect("the header is UTF-8");
    let path = crate_dir.join("include/charm.h");
    if std::env::var_os("CHARM_WRITE_HEADER").is_some() {
        let temporary = path.with_extension("h.tmp");
        std::fs::write(&temporary, &generated).expect("write the header");
        std::fs::rename(&temporary, &path).expect("replace include/charm.h");
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "capi/include/charm.h is not what cbindgen generates from capi/src: write it with \
         `CHARM_WRITE_HEADER=1 cargo test -p charm-c --test header`\n\ngenerated:\n{generated}"
    );
}
