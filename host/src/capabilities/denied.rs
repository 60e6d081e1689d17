//! Imports an entry was not granted (or that wippy does not provide) are linked as functions
//! that fail when called, with a message that says which grant would allow the call. A
//! component that merely imports an interface (as every Rust std component imports
//! `wasi:cli` and `wasi:filesystem`) still instantiates and runs its pure functions.

use wasmtime::component::types::ComponentItem;
use wasmtime::component::{Component, Linker, LinkerInstance, ResourceType};

use super::ProcessState;
use crate::registry::Grants;
use crate::registry::grants::group_of;
use crate::registry::{Entry, display_path};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImportStatus {
    Granted,
    /// Known to wippy; the entry's imports lack this group.
    NotGranted {
        group: &'static str,
    },
    /// Not an interface wippy implements.
    NotProvided,
}

/// One import of a component and what the entry's grants make of it.
#[derive(Debug, Clone)]
pub struct ImportReport {
    pub name: String,
    pub status: ImportStatus,
}

/// Stands in for the resources of interfaces that are not granted; no value of it is ever made.
struct UngrantedResource;

pub fn link_ungranted(
    linker: &mut Linker<ProcessState>,
    engine: &wasmtime::Engine,
    component: &Component,
    grants: &Grants,
    entry: &Entry,
) -> wasmtime::Result<Vec<ImportReport>> {
    let mut report = Vec::new();
    // Resources in the order their interfaces are imported: a resource an interface `use`s
    // from another shows up in both, and must keep the type of the interface that defines it.
    let mut seen_resources: Vec<ResourceType> = Vec::new();
    for (name, item) in component.component_type().imports(engine) {
        let status = if grants.allows(name) {
            ImportStatus::Granted
        } else {
            match group_of(name) {
                Some(group) => ImportStatus::NotGranted { group },
                None => ImportStatus::NotProvided,
            }
        };
        if status != ImportStatus::Granted {
            let mut root = linker.root();
            match &item.ty {
                ComponentItem::ComponentInstance(instance) => {
                    let mut stand_in = root.instance(name)?;
                    for (export, item) in instance.exports(engine) {
                        if let ComponentItem::Resource(resource) = &item.ty
                            && seen_resources.contains(resource)
                        {
                            continue;
                        }
                        define_stand_in(
                            &mut stand_in,
                            export,
                            &item.ty,
                            &denial(entry, name, export, &status),
                        )?;
                    }
                }
                item => {
                    define_stand_in(&mut root, name, item, &denial(entry, name, name, &status))?
                }
            }
        }
        if let ComponentItem::ComponentInstance(instance) = &item.ty {
            seen_resources.extend(instance.exports(engine).filter_map(
                |(_, export)| match export.ty {
                    ComponentItem::Resource(resource) => Some(resource),
                    _ => None,
                },
            ));
        }
        report.push(ImportReport {
            name: name.to_string(),
            status,
        });
    }
    Ok(report)
}

fn define_stand_in(
    instance: &mut LinkerInstance<'_, ProcessState>,
    name: &str,
    item: &ComponentItem,
    message: &str,
) -> wasmtime::Result<()> {
    match item {
        ComponentItem::ComponentFunc(_) => {
            let message = message.to_string();
            instance.func_new(name, move |_, _, _, _| {
                Err(wasmtime::Error::msg(message.clone()))
            })
        }
        ComponentItem::Resource(_) => {
            instance.resource(name, ResourceType::host::<UngrantedResource>(), |_, _| {
                Ok(())
            })
        }
        // Types need no definition; nested components and modules are not imported by
        // components wippy runs, and instantiation explains them if they are.
        _ => Ok(()),
    }
}

/// What a call to an ungranted import says: who called what, and the `imports:` line
/// (with the entry's existing grants) that would allow it.
fn denial(entry: &Entry, interface: &str, function: &str, status: &ImportStatus) -> String {
    let called = if interface == function {
        format!("`{function}`")
    } else {
        format!("`{interface}#{function}`")
    };
    match status {
        ImportStatus::NotGranted { group } => {
            let mut imports: Vec<String> = entry
                .kind
                .wasm()
                .map(|w| w.imports.clone())
                .unwrap_or_default();
            imports.push(group.to_string());
            format!(
                "it called {called}, but entry `{}` does not grant `{group}`. Grant it in {}:{} with `imports: [{}]`",
                entry.id,
                display_path(&entry.file),
                entry.line,
                imports.join(", ")
            )
        }
        _ => format!(
            "it called {called}, which wippy does not provide; the component needs a host that implements `{interface}`"
        ),
    }
}
