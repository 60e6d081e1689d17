//! The crate's modules form layers that depend one way, bottom to top (docs/architecture.md):
//! a module may name its own layer and those below it, never one above. This test reads every
//! `crate::…` path in `host/src` and fails on one that points up, naming the file and line.

use std::path::{Path, PathBuf};

/// Bottom first. Modules on one line share a layer (and do not name each other).
const LAYERS: &[&[&str]] = &[
    &["values", "regular_file"],
    &["registry"],
    &["guest"],
    &["capabilities"],
    &["engine"],
    &["process"],
    &["lua", "serve", "cluster"],
    &["cli"],
];

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|layer| layer.contains(&module))
}

fn rust_files(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, found);
        } else if path.extension().is_some_and(|e| e == "rs") {
            found.push(path);
        }
    }
}

/// The top-level module a file under `src` belongs to (`src/process/node/mod.rs` → process).
fn module_of(src: &Path, file: &Path) -> String {
    let relative = file.strip_prefix(src).unwrap();
    let first = relative.components().next().unwrap().as_os_str();
    Path::new(first)
        .file_stem()
        .unwrap()
        .to_string_lossy()
        .into_owned()
}

/// The modules named by `crate::name` paths on a line.
fn named_modules(line: &str) -> Vec<&str> {
    line.match_indices("crate::")
        .filter(|(at, _)| !line[..*at].ends_with(|c: char| c.is_alphanumeric() || c == '_'))
        .map(|(at, prefix)| {
            let rest = &line[at + prefix.len()..];
            let end = rest
                .find(|c: char| !(c.is_alphanumeric() || c == '_'))
                .unwrap_or(rest.len());
            &rest[..end]
        })
        .filter(|name| !name.is_empty())
        .collect()
}

#[test]
fn no_module_names_a_layer_above_its_own() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    let mut upward = Vec::new();
    for file in &files {
        let module = module_of(&src, file);
        if module == "lib" || module == "main" {
            continue;
        }
        let Some(own) = layer_of(&module) else {
            panic!(
                "{} is in module `{module}`, which has no layer: add it to LAYERS in tests/layers.rs and to docs/architecture.md",
                file.display()
            );
        };
        let text = std::fs::read_to_string(file).unwrap();
        for (number, line) in text.lines().enumerate() {
            for named in named_modules(line) {
                match layer_of(named) {
                    Some(layer) if layer > own || (layer == own && named != module) => {
                        upward.push(format!(
                            "{}:{}: `{module}` names `{named}`, which is not below it",
                            file.strip_prefix(&src).unwrap().display(),
                            number + 1
                        ))
                    }
                    _ => {}
                }
            }
        }
    }
    assert!(
        upward.is_empty(),
        "imports against the layers (bottom to top: {:?}):\n{}",
        LAYERS,
        upward.join("\n")
    );
}

#[test]
fn the_check_sees_upward_names() {
    assert_eq!(
        named_modules("use crate::process::{Node, Pid}; // and crate::lua::x"),
        ["process", "lua"]
    );
    assert_eq!(
        named_modules("wippy_crate::x and mycrate::y"),
        Vec::<&str>::new()
    );
}
