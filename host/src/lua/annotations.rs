//! Wippy's optional type annotations (Luau's syntax: `function f(x: string): number`,
//! `local n = v :: number`, `type Point = {x: number}`, generics), which Lua 5.4 rejects.
//! A source Lua cannot compile is parsed with full_moon's Luau grammar and every annotation is
//! blanked out — its bytes become spaces, its line breaks stay — so the chunk Lua then loads
//! has each line and column where the author wrote it, and errors and tracebacks point at
//! the author's lines. Annotations are not checked, as in Wippy. A source is parsed once per
//! node: the result is kept with the registry's source.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use full_moon::LuaVersion;
use full_moon::ast::luau::{
    ExportedTypeDeclaration, ExportedTypeFunction, GenericDeclaration, TypeAssertion,
    TypeDeclaration, TypeFunction, TypeInstantiation, TypeSpecifier,
};
use full_moon::node::Node;
use full_moon::visitors::Visitor;

/// Sources already stripped, by the address of their text (registry sources are shared
/// `Arc<str>`s that live as long as the node; the original is kept here, so an address is
/// never reused for another text). Looking one up costs no hashing of the text, which every
/// process start does.
type Stripped = HashMap<usize, (Arc<str>, Arc<str>)>;

fn stripped_sources() -> &'static Mutex<Stripped> {
    static STRIPPED: OnceLock<Mutex<Stripped>> = OnceLock::new();
    STRIPPED.get_or_init(Default::default)
}

fn address(source: &Arc<str>) -> usize {
    Arc::as_ptr(source) as *const u8 as usize
}

/// The source with its annotations blanked, if it was stripped before.
pub fn known(source: &Arc<str>) -> Option<Arc<str>> {
    let stripped = stripped_sources().lock().unwrap_or_else(|p| p.into_inner());
    stripped.get(&address(source)).map(|(_, text)| text.clone())
}

/// The source with its annotations blanked, or why it is not Lua: `name:line:column: …`.
pub fn strip(source: &str, name: &str) -> Result<Arc<str>, String> {
    strip_text(source, name)
}

/// [`strip`], remembered for `source` so it is parsed once per node.
pub fn strip_once(source: &Arc<str>, name: &str) -> Result<Arc<str>, String> {
    let text = strip_text(source, name)?;
    let mut stripped = stripped_sources().lock().unwrap_or_else(|p| p.into_inner());
    stripped.insert(address(source), (source.clone(), text.clone()));
    Ok(text)
}

fn strip_text(source: &str, name: &str) -> Result<Arc<str>, String> {
    let parsed = full_moon::parse_fallible(source, LuaVersion::new());
    if let Some(error) = parsed.errors().first() {
        let (start, _) = error.range();
        return Err(format!(
            "{name}:{}:{}: {}",
            start.line(),
            start.character(),
            error.error_message()
        ));
    }
    let mut annotations = Annotations::default();
    annotations.visit_ast(parsed.ast());
    let mut bytes = source.as_bytes().to_vec();
    for (start, end) in annotations.ranges {
        for byte in &mut bytes[start.min(source.len())..end.min(source.len())] {
            if *byte != b'\n' && *byte != b'\r' {
                *byte = b' ';
            }
        }
    }
    // Whole characters were replaced (annotations end on token boundaries), so the text
    // stays UTF-8; a lossy conversion only guards against the impossible.
    Ok(Arc::from(String::from_utf8_lossy(&bytes).as_ref()))
}

/// The byte ranges of every annotation in a chunk.
#[derive(Default)]
struct Annotations {
    ranges: Vec<(usize, usize)>,
}

impl Annotations {
    /// From the node's first token to the end of its last (a node's own range can stop short
    /// of a closing parenthesis).
    fn add(&mut self, node: &impl Node) {
        let positions = node.tokens().filter_map(|token| token.range());
        let (mut start, mut end) = (usize::MAX, 0);
        for (from, to) in positions {
            start = start.min(from.bytes());
            end = end.max(to.bytes());
        }
        if start < end {
            self.ranges.push((start, end));
        }
    }
}

impl Visitor for Annotations {
    fn visit_type_specifier(&mut self, node: &TypeSpecifier) {
        self.add(node);
    }

    fn visit_type_assertion(&mut self, node: &TypeAssertion) {
        self.add(node);
    }

    fn visit_type_declaration(&mut self, node: &TypeDeclaration) {
        self.add(node);
    }

    fn visit_exported_type_declaration(&mut self, node: &ExportedTypeDeclaration) {
        self.add(node);
    }

    fn visit_type_function(&mut self, node: &TypeFunction) {
        self.add(node);
    }

    fn visit_exported_type_function(&mut self, node: &ExportedTypeFunction) {
        self.add(node);
    }

    fn visit_generic_declaration(&mut self, node: &GenericDeclaration) {
        self.add(node);
    }

    fn visit_type_instantiation(&mut self, node: &TypeInstantiation) {
        self.add(node);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stripped(source: &str) -> String {
        strip(source, "t").unwrap().to_string()
    }

    #[test]
    fn annotations_become_spaces_and_lines_stay() {
        let source = "local function f(a: string, b: number?): (number, string)\n  local n = b :: number\n  return n, a\nend\n";
        let out = stripped(source);
        assert_eq!(out.len(), source.len());
        assert_eq!(out.lines().count(), source.lines().count());
        assert_eq!(
            out,
            "local function f(a        , b         )                  \n  local n = b          \n  return n, a\nend\n"
        );
    }

    #[test]
    fn type_aliases_generics_and_exports_go() {
        let out = stripped(
            "type Point = {\n  x: number,\n}\nexport type Id = string\nlocal function id<T>(v: T): T return v end\nreturn id(1)\n",
        );
        assert!(
            !out.contains("type") && !out.contains("<T>") && !out.contains(": T"),
            "{out}"
        );
        assert_eq!(out.lines().count(), 6);
        assert!(
            out.ends_with("local function id   (v   )    return v end\nreturn id(1)\n"),
            "{out:?}"
        );
    }

    #[test]
    fn plain_lua_is_left_alone_and_errors_name_line_and_column() {
        let source = "local t = {a = 1} -- a: comment\nreturn t.a // 1, 3 & 1, #t\n";
        assert_eq!(stripped(source), source);
        let err = strip("local x: = 1\n", "app:main").unwrap_err();
        assert!(err.starts_with("app:main:1:"), "{err}");
    }
}
