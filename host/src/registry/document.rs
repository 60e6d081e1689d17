//! One registry file: YAML text → namespace, shared meta and raw entries, with `file://`
//! references resolved to the text they name.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Deserialize;
use serde_json::{Map, Value};
use serde_saphyr::Spanned;

use super::LoadError;
use super::source_files::SourceFiles;

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
    /// As written, except that `file://` strings other than `source` hold the text they name.
    pub fields: Value,
    /// The text of `source: file://…` (or `data.source`), shared with every entry naming the
    /// same file; `fields` keeps the reference.
    pub source_text: Option<Arc<str>>,
}

/// Parses `file`; `Ok(None)` when it is YAML but not a registry file (no top-level `namespace`).
pub fn parse(file: &Path, files: &mut SourceFiles) -> Result<Option<Document>, LoadError> {
    let text = files.yaml(file)?;
    // One parse for a registry file, the usual case (it was a third of `wippy run`'s start);
    // a file that does not read as one is parsed again as plain YAML, to tell a file that is
    // not a registry file (no top-level `namespace`) from a broken one.
    let raw: RawDocument = match serde_saphyr::from_str(&text) {
        Ok(raw) => raw,
        Err(typed) => {
            let probe: Value = serde_saphyr::from_str(&text).map_err(|e| syntax_error(file, &e))?;
            if probe.get("namespace").is_none() {
                return Ok(None);
            }
            return Err(syntax_error(file, &typed));
        }
    };
    if raw.namespace.is_empty() || raw.namespace.contains(':') {
        return Err(
            LoadError::new(format!("`{}` is not a usable namespace", raw.namespace))
                .file(file)
                .field("namespace")
                .fix("use a non-empty name without `:`, such as `app` or `app.tools`"),
        );
    }
    let base = file.parent().unwrap_or(file);
    let mut entries = Vec::with_capacity(raw.entries.len());
    for spanned in raw.entries {
        let line = spanned.referenced.line();
        let mut fields = spanned.value;
        // Wippy's long form keeps the kind's fields under `data:`.
        let shared = match fields.get("data") {
            Some(Value::Object(_)) => "data.source",
            _ => "source",
        };
        let mut interpolation = Interpolation {
            files,
            base,
            shared,
            source_text: None,
        };
        interpolation
            .visit(&mut fields, &mut String::new())
            .map_err(|e| e.file(file).line(line))?;
        let source_text = interpolation.source_text;
        entries.push(RawEntry {
            line,
            fields,
            source_text,
        });
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

/// Resolves the `file://` strings of one entry. Paths are relative to the YAML file
/// (`file:///x`, as in Wippy, to the source folder) and may not leave the source folder,
/// symlinks included. The `source` field keeps its reference and gets the shared text, since
/// that is where scripts (often one file for many entries) go; any other field gets a copy,
/// which counts against the budget each time.
struct Interpolation<'a> {
    files: &'a mut SourceFiles,
    base: &'a Path,
    /// The field path whose text is shared.
    shared: &'static str,
    source_text: Option<Arc<str>>,
}

impl Interpolation<'_> {
    fn visit(&mut self, value: &mut Value, field: &mut String) -> Result<(), LoadError> {
        match value {
            Value::String(string) => {
                if let Some(reference) = string.strip_prefix("file://") {
                    let text = (self.files.referenced(reference, self.base))
                        .map_err(|e| e.field(field.clone()))?;
                    if field.as_str() == self.shared {
                        self.source_text = Some(text);
                    } else {
                        (self.files.charge_copy(reference, text.len()))
                            .map_err(|e| e.field(field.clone()))?;
                        *string = text.to_string();
                    }
                }
            }
            Value::Array(items) => {
                for (i, item) in items.iter_mut().enumerate() {
                    let len = field.len();
                    field.push_str(&format!("[{i}]"));
                    self.visit(item, field)?;
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
                    self.visit(item, field)?;
                    field.truncate(len);
                }
            }
            _ => {}
        }
        Ok(())
    }
}
