//! How one raw YAML entry becomes an [`Entry`]: its kind's spec deserialized with
//! unknown-field suggestions, `file://` text filled in, meta merged with the file's, and each
//! problem placed at its file, line, entry and field.

use std::path::Path;
use std::sync::Arc;

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use super::entry::{Entry, EntryKind, Note, ServiceEntry};
use super::kinds::hosts::{ProcessHostSpec, TerminalHostSpec};
use super::kinds::http::{HttpEndpointSpec, HttpRouterSpec, HttpServiceSpec};
use super::kinds::lifecycle::LifecycleSpec;
use super::kinds::lua::LuaSpec;
use super::kinds::storage::{EnvOsSpec, EnvStaticSpec, EnvVariableSpec, FsDirectorySpec};
use super::kinds::wasm::WasmSpec;
use super::kinds::{PROVIDED, WIPPY_ONLY};
use super::{EntryId, LoadError, closest};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ServiceSpec {
    process: String,
    host: String,
    #[serde(default)]
    input: Option<Value>,
    #[serde(default)]
    lifecycle: LifecycleSpec,
}

/// Context for turning one raw entry into an [`Entry`].
pub(super) struct EntrySource<'a> {
    pub file: &'a Path,
    pub line: u64,
    pub namespace: &'a str,
    pub file_meta: &'a Map<String, Value>,
    pub project_root: &'a Path,
    /// The text of the entry's `source: file://…`, if it has one.
    pub source_text: Option<Arc<str>>,
}

impl EntrySource<'_> {
    fn error(&self, id: Option<&EntryId>, problem: impl Into<String>) -> LoadError {
        self.place(LoadError::new(problem), id)
    }

    fn place(&self, error: LoadError, id: Option<&EntryId>) -> LoadError {
        let error = error.file(self.file).line(self.line);
        match id {
            Some(id) => error.entry(id),
            None => error,
        }
    }

    pub(super) fn parse(&self, fields: Value) -> Result<Entry, LoadError> {
        let Value::Object(mut fields) = fields else {
            return Err(self
                .error(None, "an entry must be a mapping with `name` and `kind`")
                .field("entries"));
        };
        let name = match fields.remove("name") {
            Some(Value::String(name)) if !name.is_empty() && !name.contains(':') => name,
            Some(other) => {
                return Err(self
                    .error(None, format!("`{other}` is not a valid entry name"))
                    .field("name")
                    .fix("use a non-empty string without `:`; the namespace comes from the file"));
            }
            None => {
                return Err(self
                    .error(None, "the entry has no `name`")
                    .field("name")
                    .fix("add `name: <name>`; the entry's ID is `<namespace>:<name>`"));
            }
        };
        let id = EntryId::new(self.namespace, name);
        let kind = match fields.remove("kind") {
            Some(Value::String(kind)) => kind,
            _ => {
                return Err(self
                    .error(Some(&id), "the entry has no `kind`")
                    .field("kind")
                    .fix(format!("add `kind:` with one of: {}", PROVIDED.join(", "))));
            }
        };
        let mut meta = self.file_meta.clone();
        match fields.remove("meta") {
            Some(Value::Object(own)) => meta.extend(own),
            Some(Value::Null) | None => {}
            Some(_) => {
                return Err(self
                    .error(Some(&id), "`meta` must be a mapping")
                    .field("meta"));
            }
        }
        // Wippy's long form: the kind's fields under `data:` instead of beside `name`.
        if let Some(Value::Object(data)) = fields.get("data") {
            fields = data.clone();
        }
        let mut notes = Vec::new();
        let kind = self
            .parse_kind(&id, &kind, Value::Object(fields.clone()), &meta, &mut notes)
            .map_err(|error| self.place(error, Some(&id)))?;
        let entry = Entry {
            id,
            file: self.file.to_path_buf(),
            line: self.line,
            meta,
            fields,
            source_text: self.source_text.clone(),
            kind,
            notes,
        };
        if entry.meta.contains_key("command") && entry.command().is_none() {
            return Err(entry
                .error("`meta.command` must be a mapping with a string `name` (and optionally `short`)")
                .field("meta.command")
                .fix("write `meta: {command: {name: greet, short: \"Say hello\"}}`"));
        }
        Ok(entry)
    }

    fn parse_kind(
        &self,
        id: &EntryId,
        kind: &str,
        fields: Value,
        meta: &Map<String, Value>,
        notes: &mut Vec<Note>,
    ) -> Result<EntryKind, LoadError> {
        let ns = self.namespace;
        Ok(match kind {
            "fs.directory" => EntryKind::FsDirectory(
                self.fields::<FsDirectorySpec>(kind, fields)?
                    .resolve(self.project_root, notes)?,
            ),
            "env.storage.os" => {
                let EnvOsSpec {} = self.fields(kind, fields)?;
                EntryKind::EnvStorageOs
            }
            "env.storage.static" => {
                EntryKind::EnvStorageStatic(self.fields::<EnvStaticSpec>(kind, fields)?.values)
            }
            "env.variable" => EntryKind::EnvVariable(
                self.fields::<EnvVariableSpec>(kind, fields)?
                    .resolve(id, notes),
            ),
            "process.host" => EntryKind::ProcessHost(
                self.fields::<ProcessHostSpec>(kind, fields)?
                    .resolve(notes)?,
            ),
            "terminal.host" => EntryKind::TerminalHost(
                self.fields::<TerminalHostSpec>(kind, fields)?
                    .resolve(notes)?,
            ),
            "process.wasm" | "function.wasm" | "function.wat" => {
                let wasm = self.fields::<WasmSpec>(kind, fields)?.resolve(
                    kind,
                    ns,
                    self.source_text.clone(),
                    notes,
                )?;
                match kind {
                    "process.wasm" => EntryKind::ProcessWasm(wasm),
                    "function.wasm" => EntryKind::FunctionWasm(wasm),
                    _ => EntryKind::FunctionWat(wasm),
                }
            }
            "process.lua" | "function.lua" | "library.lua" => {
                let lua = self.fields::<LuaSpec>(kind, fields)?.resolve(
                    kind,
                    ns,
                    self.source_text.clone(),
                    notes,
                )?;
                match kind {
                    "process.lua" => EntryKind::ProcessLua(lua),
                    "function.lua" => EntryKind::FunctionLua(lua),
                    _ => EntryKind::LibraryLua(lua),
                }
            }
            "process.service" => {
                let spec: ServiceSpec = self.fields(kind, fields)?;
                let input = match spec.input {
                    None | Some(Value::Null) => Vec::new(),
                    Some(Value::Array(items)) => items,
                    Some(single) => vec![single],
                };
                EntryKind::ProcessService(ServiceEntry {
                    process: EntryId::resolve(&spec.process, ns),
                    host: EntryId::resolve(&spec.host, ns),
                    input,
                    lifecycle: spec.lifecycle.resolve(ns, notes)?,
                })
            }
            "http.service" => EntryKind::HttpService(
                self.fields::<HttpServiceSpec>(kind, fields)?
                    .resolve(ns, notes)?,
            ),
            "http.router" => EntryKind::HttpRouter(
                self.fields::<HttpRouterSpec>(kind, fields)?
                    .resolve(ns, meta, notes)?,
            ),
            "http.endpoint" => EntryKind::HttpEndpoint(
                self.fields::<HttpEndpointSpec>(kind, fields)?
                    .resolve(ns, meta, notes)?,
            ),
            wippy if WIPPY_ONLY.contains(&wippy) => {
                notes.push(Note::new(
                    "kind",
                    format!("`{wippy}` is a Wippy kind that wippy-rs does not provide yet; the entry is loaded and has no effect"),
                ));
                EntryKind::NotProvided(wippy.to_string())
            }
            unknown => {
                let error = LoadError::new(format!("unknown kind `{unknown}`")).field("kind");
                let mut known = PROVIDED.to_vec();
                known.extend(WIPPY_ONLY);
                return Err(match closest(unknown, &known) {
                    Some(near) => error.fix(format!("did you mean `{near}`?")),
                    None => error.fix(format!("use one of: {}", PROVIDED.join(", "))),
                });
            }
        })
    }

    /// Deserializes a kind's fields; the error names the field by its path inside the entry.
    fn fields<T: DeserializeOwned>(&self, kind: &str, fields: Value) -> Result<T, LoadError> {
        serde_path_to_error::deserialize(fields).map_err(|error| {
            let path = error.path().to_string();
            let message = error.inner().to_string();
            let (field, problem, fix) = describe_field_error(&path, &message, kind);
            let mut result = LoadError::new(problem).field(field);
            if let Some(fix) = fix {
                result = result.fix(fix);
            }
            result
        })
    }
}

/// Turns serde's wording into ours: which field, what is wrong, and how to fix it.
fn describe_field_error(path: &str, message: &str, kind: &str) -> (String, String, Option<String>) {
    let parent = if path == "." {
        String::new()
    } else {
        format!("{path}.")
    };
    if let Some(rest) = message.strip_prefix("missing field `") {
        let name = rest.split('`').next().unwrap_or_default();
        return (
            format!("{parent}{name}"),
            format!("required field `{name}` is missing"),
            Some(format!("add `{name}:` to this {kind} entry")),
        );
    }
    if let Some(rest) = message.strip_prefix("unknown field `") {
        let name = rest.split('`').next().unwrap_or_default();
        let expected: Vec<&str> = (rest.split_once(", expected ").map(|(_, e)| e))
            .unwrap_or_default()
            .split('`')
            .skip(1)
            .step_by(2)
            .collect();
        let fix = match closest(name, &expected) {
            Some(near) => format!("did you mean `{near}`?"),
            None if expected.is_empty() => format!("this {kind} field takes no keys"),
            None => format!("the fields here are: {}", expected.join(", ")),
        };
        return (
            path.to_string(),
            format!("`{name}` is not a field of {kind}"),
            Some(fix),
        );
    }
    (path.to_string(), message.to_string(), None)
}
