//! Finding the function a `method` names among a component's exports.

use wasmtime::component::types::{ComponentFunc, ComponentItem};
use wasmtime::component::{Component, ComponentExportIndex};

/// A resolved export: where it is, its type, and its name as users write it.
#[derive(Clone)]
pub struct ExportedFunc {
    pub index: ComponentExportIndex,
    pub ty: ComponentFunc,
    /// `name` for world-level exports, `ns:pkg/iface@ver#name` for interface exports.
    pub qualified_name: String,
    /// The bare function name, as used in signatures.
    pub name: String,
    /// Found once: each spawn of the entry asks.
    json_entry: bool,
}

impl ExportedFunc {
    /// Whether this is function `name` of `interface` (`ns:pkg/iface`, any version).
    pub fn is(&self, interface: &str, name: &str) -> bool {
        let own = self.qualified_name.split('#').next().unwrap_or_default();
        self.name == name && crate::registry::grants::unversioned(own) == interface
    }

    /// The entry point of a published world (`wippy:process/entry#run`,
    /// `wippy:runtime/entry#call`): its arguments arrive as one JSON array and its `ok`
    /// value is JSON text.
    pub fn takes_json(&self) -> bool {
        self.json_entry
    }

    /// A command component's entry point, `wasi:cli/run#run`: it takes its arguments from
    /// `wasi:cli/environment`, not as parameters.
    pub fn is_cli_run(&self) -> bool {
        self.is("wasi:cli/run", "run")
    }
}

/// Resolves `name`, `iface#name` or `ns:pkg/iface@version#name`; a bare `name` that no
/// world-level function has names the one interface function of that name. The error lists
/// what the component does export.
pub fn resolve_method(
    engine: &wasmtime::Engine,
    component: &Component,
    method: &str,
) -> Result<ExportedFunc, String> {
    let funcs = exported_funcs(engine, component);
    let found: Vec<&(Option<String>, String, ComponentFunc)> = match method.split_once('#') {
        None => {
            let world_level: Vec<_> = (funcs.iter())
                .filter(|(iface, name, _)| iface.is_none() && name == method)
                .collect();
            match world_level.is_empty() {
                // `run` of a published world's `entry` interface, and the like.
                true => (funcs.iter())
                    .filter(|(_, name, _)| name == method)
                    .collect(),
                false => world_level,
            }
        }
        Some((wanted_iface, wanted_name)) => funcs
            .iter()
            .filter(|(iface, name, _)| {
                name == wanted_name
                    && iface
                        .as_deref()
                        .is_some_and(|i| interface_matches(i, wanted_iface))
            })
            .collect(),
    };
    let listing = || {
        let names: Vec<String> = funcs
            .iter()
            .map(|(iface, name, _)| qualified(iface.as_deref(), name))
            .collect();
        if names.is_empty() {
            "the component exports no functions".to_string()
        } else {
            format!("the component exports: {}", names.join(", "))
        }
    };
    match found.as_slice() {
        [] => Err(format!(
            "method `{method}` is not exported by the component; {}",
            listing()
        )),
        [(iface, name, ty)] => {
            let index = match iface {
                None => component.get_export_index(None, name),
                Some(iface) => component
                    .get_export_index(None, iface.as_str())
                    .and_then(|instance| component.get_export_index(Some(&instance), name)),
            }
            .ok_or_else(|| format!("method `{method}` could not be located in the component"))?;
            let mut export = ExportedFunc {
                index,
                ty: ty.clone(),
                qualified_name: qualified(iface.as_deref(), name),
                name: name.clone(),
                json_entry: false,
            };
            export.json_entry =
                export.is("wippy:process/entry", "run") || export.is("wippy:runtime/entry", "call");
            Ok(export)
        }
        several => Err(format!(
            "method `{method}` is ambiguous: it matches {}; write the interface in full",
            several
                .iter()
                .map(|(iface, name, _)| qualified(iface.as_deref(), name))
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

/// `iface` as written may be the export's full name, the name without `@version`, or just
/// the interface's own name.
fn interface_matches(export: &str, written: &str) -> bool {
    let unversioned = export.split_once('@').map_or(export, |(name, _)| name);
    let short = unversioned
        .rsplit_once('/')
        .map_or(unversioned, |(_, name)| name);
    written == export || written == unversioned || written == short
}

fn qualified(iface: Option<&str>, name: &str) -> String {
    match iface {
        Some(iface) => format!("{iface}#{name}"),
        None => name.to_string(),
    }
}

/// Every exported function: world-level ones and those of exported interfaces.
fn exported_funcs(
    engine: &wasmtime::Engine,
    component: &Component,
) -> Vec<(Option<String>, String, ComponentFunc)> {
    let mut funcs = Vec::new();
    for (name, item) in component.component_type().exports(engine) {
        match item.ty {
            ComponentItem::ComponentFunc(func) => funcs.push((None, name.to_string(), func)),
            ComponentItem::ComponentInstance(instance) => {
                for (func_name, item) in instance.exports(engine) {
                    if let ComponentItem::ComponentFunc(func) = item.ty {
                        funcs.push((Some(name.to_string()), func_name.to_string(), func));
                    }
                }
            }
            _ => {}
        }
    }
    funcs
}

#[cfg(test)]
mod tests {
    use super::interface_matches;

    #[test]
    fn interfaces_match_by_full_unversioned_or_short_name() {
        let export = "wippy-guests:hello/text@0.1.0";
        assert!(interface_matches(export, export));
        assert!(interface_matches(export, "wippy-guests:hello/text"));
        assert!(interface_matches(export, "text"));
        assert!(!interface_matches(export, "tex"));
        assert!(!interface_matches(export, "wippy-guests:hello/text@0.2.0"));
    }
}
