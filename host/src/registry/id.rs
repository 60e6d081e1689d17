use std::fmt;

/// `namespace:name`, the identity of a registry entry.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EntryId {
    pub namespace: String,
    pub name: String,
}

impl EntryId {
    pub fn new(namespace: impl Into<String>, name: impl Into<String>) -> Self {
        Self {
            namespace: namespace.into(),
            name: name.into(),
        }
    }

    /// Resolves a reference written inside an entry of `namespace`: a reference without `:`
    /// names an entry of that same namespace. The namespace itself may contain dots
    /// (`app.sub:name`), so only the last `:` separates it from the name.
    pub fn resolve(reference: &str, namespace: &str) -> Self {
        match reference.rsplit_once(':') {
            Some((ns, name)) => Self::new(ns, name),
            None => Self::new(namespace, reference),
        }
    }

    /// Parses a full ID as typed on the command line; `None` when it has no namespace.
    pub fn parse_full(text: &str) -> Option<Self> {
        let (ns, name) = text.rsplit_once(':')?;
        (!ns.is_empty() && !name.is_empty()).then(|| Self::new(ns, name))
    }
}

impl fmt::Display for EntryId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.namespace, self.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_without_namespace_stay_in_the_referring_namespace() {
        assert_eq!(
            EntryId::resolve("files", "app"),
            EntryId::new("app", "files")
        );
        assert_eq!(
            EntryId::resolve("sys:files", "app"),
            EntryId::new("sys", "files")
        );
        assert_eq!(EntryId::resolve("a.b:c", "app").to_string(), "a.b:c");
    }

    #[test]
    fn full_ids_need_both_parts() {
        assert_eq!(
            EntryId::parse_full("app:greet"),
            Some(EntryId::new("app", "greet"))
        );
        assert_eq!(EntryId::parse_full("greet"), None);
        assert_eq!(EntryId::parse_full(":greet"), None);
        assert_eq!(EntryId::parse_full("app:"), None);
    }
}
