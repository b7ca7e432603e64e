//! The dependency rule of the trainer's layers (see the crate docs):
//!
//! 1. a module imports only from its own layer and the layers below it,
//!    in the order `math` < `error` < `files` < `training` < `commands` < `cli`;
//! 2. the modules import each other without cycles.
//!
//! A "module" is a file (or a folder's `mod.rs` together with the files of a
//! folder that has no `mod.rs` of its own… here: every `.rs` file is one
//! node, named by its path, `math/kernels/avx2.rs` being `math::kernels::avx2`).
//! An import is any `crate::a::b…` path in the file — in `use` lines, in code
//! and in doc links — including the grouped forms `crate::{a::b, c}`; it
//! points to the deepest node that names a prefix of the path
//! (`crate::training::Budget` is the node `training`, the folder's `mod.rs`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The layers, lowest first; `lib.rs` and `main.rs` sit above them all.
const LAYERS: [&str; 6] = ["math", "error", "files", "training", "commands", "cli"];

fn rs_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).expect("read trainer/src") {
        let p = e.expect("dir entry").path();
        if p.is_dir() {
            rs_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// `math/kernels/mod.rs` → `math::kernels`; `error.rs` → `error`.
fn node_of(src: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(src).expect("under src");
    let mut parts: Vec<String> = rel
        .iter()
        .map(|s| s.to_string_lossy().into_owned())
        .collect();
    let last = parts.pop().expect("a file name");
    if last != "mod.rs" {
        parts.push(last.trim_end_matches(".rs").to_string());
    }
    parts.join("::")
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// Every path that follows `crate::` in `text`, expanded over `{…}` groups.
fn crate_paths(text: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find("crate::") {
        let before = rest[..i].chars().next_back();
        rest = &rest[i + "crate::".len()..];
        if before.is_some_and(|c| is_ident(c) || c == ':') {
            continue; // `charm_core::…`, `some_crate::…`: another crate
        }
        expand(rest, Vec::new(), &mut out);
    }
    out
}

/// Reads one path (or `{…}` group of paths) at the start of `s`, prefixed by `prefix`.
fn expand(s: &str, prefix: Vec<String>, out: &mut Vec<Vec<String>>) -> usize {
    let s_trim = s.trim_start();
    let skipped = s.len() - s_trim.len();
    if let Some(inner) = s_trim.strip_prefix('{') {
        let mut pos = 0;
        loop {
            let used = expand(&inner[pos..], prefix.clone(), out);
            pos += used;
            let after = inner[pos..].trim_start();
            pos = inner.len() - after.len();
            if let Some(a) = after.strip_prefix(',') {
                pos = inner.len() - a.len();
                if a.trim_start().starts_with('}') {
                    pos = inner.len() - a.trim_start().len() + 1;
                    break;
                }
            } else {
                pos += usize::from(after.starts_with('}'));
                break;
            }
        }
        return skipped + 1 + pos;
    }
    let ident: String = s_trim.chars().take_while(|&c| is_ident(c)).collect();
    let mut path = prefix;
    if !ident.is_empty() {
        path.push(ident.clone());
    }
    let after = &s_trim[ident.len()..];
    if let Some(next) = after.strip_prefix("::") {
        return skipped + ident.len() + 2 + expand(next, path, out);
    }
    if !path.is_empty() {
        out.push(path);
    }
    skipped + ident.len()
}

/// The node a path points to: its longest prefix that is a node.
fn target(path: &[String], nodes: &BTreeSet<String>) -> Option<String> {
    (1..=path.len())
        .rev()
        .map(|n| path[..n].join("::"))
        .find(|p| nodes.contains(p))
}

fn layer(node: &str) -> Option<usize> {
    let top = node.split("::").next().unwrap_or("");
    LAYERS.iter().position(|&l| l == top)
}

#[test]
fn path_parser_reads_groups() {
    let got = crate_paths(
        "use crate::{math::{a, b::C}, files::x};\n [`crate::cli`] charm_core::crate::no",
    );
    let want: Vec<Vec<String>> = [
        vec!["math", "a"],
        vec!["math", "b", "C"],
        vec!["files", "x"],
        vec!["cli"],
    ]
    .iter()
    .map(|v| v.iter().map(|s| s.to_string()).collect())
    .collect();
    assert_eq!(got, want);
}

#[test]
fn lower_layers_never_import_upper_ones_and_there_are_no_cycles() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rs_files(&src, &mut files);
    let nodes: BTreeSet<String> = files.iter().map(|f| node_of(&src, f)).collect();
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut violations = Vec::new();
    for f in &files {
        let from = node_of(&src, f);
        let text = std::fs::read_to_string(f).expect("read a source file");
        for path in crate_paths(&text) {
            let Some(to) = target(&path, &nodes) else {
                violations.push(format!(
                    "{from}: crate::{} names no module",
                    path.join("::")
                ));
                continue;
            };
            if to == from {
                continue;
            }
            if let (Some(a), Some(b)) = (layer(&from), layer(&to)) {
                if b > a {
                    violations.push(format!(
                        "{from} (layer {}) imports {to} (layer {})",
                        LAYERS[a], LAYERS[b]
                    ));
                }
            }
            edges.entry(from.clone()).or_default().insert(to);
        }
    }
    assert!(violations.is_empty(), "{}", violations.join("\n"));
    // Every file belongs to a layer (lib.rs and main.rs aside).
    for n in &nodes {
        assert!(
            layer(n).is_some() || n == "lib" || n == "main",
            "{n} is in no layer"
        );
    }
    // No cycles: depth-first search with colours.
    fn visit(
        n: &str,
        edges: &BTreeMap<String, BTreeSet<String>>,
        state: &mut BTreeMap<String, u8>,
        stack: &mut Vec<String>,
    ) {
        match state.get(n) {
            Some(2) => return,
            Some(1) => {
                let at = stack.iter().position(|s| s == n).unwrap_or(0);
                panic!("import cycle: {} -> {n}", stack[at..].join(" -> "));
            }
            _ => {}
        }
        state.insert(n.to_string(), 1);
        stack.push(n.to_string());
        for m in edges.get(n).into_iter().flatten() {
            visit(m, edges, state, stack);
        }
        stack.pop();
        state.insert(n.to_string(), 2);
    }
    let mut state = BTreeMap::new();
    for n in &nodes {
        visit(n, &edges, &mut state, &mut Vec::new());
    }
    eprintln!(
        "{} modules, {} imports between them, layers {LAYERS:?}: no upward import, no cycle",
        nodes.len(),
        edges.values().map(BTreeSet::len).sum::<usize>()
    );
}
