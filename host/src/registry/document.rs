//! One registry file: YAML text → namespace, shared meta and raw entries, with `file://`
//! references already replaced by the text they name.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::{Map, Value};
use serde_saphyr::Spanned;

use super::LoadError;

/// Registry files are written by people, so a syntax error must say where: serde-saphyr is a
/// pure-Rust parser that reports line and column, gives spans for each entry (so entry errors
/// carry a line too), and bounds what hostile input can make it do. serde_yaml is archived
/// and serde_yml was flagged unsound, which ruled them out.
#[derive(Deserialize)]
struct RawDocument {
    namespace: String,
    #[serde(default)]
    meta: Map<String, Value>,
    #[serde(default)]
    entries: Vec<Spanned<Value>>,
}

pub struct Document {
    pub file: PathBuf,
    pub namespace: String,
    pub meta: Map<String, Value>,
    pub entries: Vec<RawEntry>,
}

pub struct RawEntry {
    pub line: u64,
    pub fields: Value,
}

/// Parses `file`; `Ok(None)` when it is YAML but not a registry file (no top-level `namespace`).
pub fn parse(file: &Path, source_root: &Path) -> Result<Option<Document>, LoadError> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| LoadError::new(format!("cannot read the file: {e}")).file(file))?;
    let probe: Value = serde_saphyr::from_str(&text).map_err(|e| syntax_error(file, &e))?;
    if probe.get("namespace").is_none() {
        return Ok(None);
    }
    let raw: RawDocument = serde_saphyr::from_str(&text).map_err(|e| syntax_error(file, &e))?;
    if raw.namespace.is_empty() || raw.namespace.contains(':') {
        return Err(
            LoadError::new(format!("`{}` is not a usable namespace", raw.namespace))
                .file(file)
                .field("namespace")
                .fix("use a non-empty name without `:`, such as `app` or `app.tools`"),
        );
    }
    let base = file.parent().unwrap_or(source_root);
    let mut entries = Vec::with_capacity(raw.entries.len());
    for spanned in raw.entries {
        let line = spanned.referenced.line();
        let mut fields = spanned.value;
        interpolate_files(&mut fields, base, source_root, &mut String::new())
            .map_err(|e| e.file(file).line(line))?;
        entries.push(RawEntry { line, fields });
    }
    Ok(Some(Document {
        file: file.to_path_buf(),
        namespace: raw.namespace,
        meta: raw.meta,
        entries,
    }))
}

fn syntax_error(file: &Path, error: &serde_saphyr::Error) -> LoadError {
    let plain = error.without_snippet().to_string();
    let plain = plain.strip_prefix("error: ").unwrap_or(&plain);
    let result = LoadError::new(format!("invalid YAML: {plain}"))
        .file(file)
        .fix(
            "fix the YAML at that line (indentation, an unclosed bracket or quote, a missing `:`)",
        );
    match error.location() {
        Some(location) => result.line(location.line()),
        None => result,
    }
}

/// Replaces every string of the form `file://rel/path` with that file's text. The path is
/// relative to the YAML file (`file:///x`, as in Wippy, to the source folder) and may not
/// leave the source folder, symlinks included.
fn interpolate_files(
    value: &mut Value,
    base: &Path,
    source_root: &Path,
    field: &mut String,
) -> Result<(), LoadError> {
    match value {
        Value::String(text) => {
            if let Some(relative) = text.strip_prefix("file://") {
                *text = read_referenced_file(relative, base, source_root)
                    .map_err(|e| e.field(field.clone()))?;
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                let len = field.len();
                field.push_str(&format!("[{i}]"));
                interpolate_files(item, base, source_root, field)?;
                field.truncate(len);
            }
        }
        Value::Object(map) => {
            for (key, item) in map.iter_mut() {
                let len = field.len();
                if !field.is_empty() {
                    field.push('.');
                }
                field.push_str(key);
                interpolate_files(item, base, source_root, field)?;
                field.truncate(len);
            }
        }
        _ => {}
    }
    Ok(())
}

fn read_referenced_file(
    relative: &str,
    base: &Path,
    source_root: &Path,
) -> Result<String, LoadError> {
    let path = match relative.strip_prefix('/') {
        Some(from_root) => source_root.join(from_root),
        None => base.join(relative),
    };
    let resolved = path.canonicalize().map_err(|e| {
        LoadError::new(format!(
            "`file://{relative}` names {}, which cannot be opened: {e}",
            path.display()
        ))
        .fix("check the path; it is relative to the YAML file")
    })?;
    if !resolved.starts_with(source_root) {
        return Err(LoadError::new(format!(
            "`file://{relative}` resolves to {}, outside the source folder {}",
            resolved.display(),
            source_root.display()
        ))
        .fix("keep referenced files inside the source folder"));
    }
    std::fs::read_to_string(&resolved)
        .map_err(|e| LoadError::new(format!("`file://{relative}` cannot be read as text: {e}")))
}
