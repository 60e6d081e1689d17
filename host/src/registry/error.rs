use std::fmt;
use std::path::{Path, PathBuf};

use super::EntryId;

/// Something the registry (or a component it names) got wrong, placed as precisely as we can:
/// file and line, entry, field. Rendered as one paragraph that ends with how to fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadError(Box<Details>);

#[derive(Debug, Clone, PartialEq, Eq)]
struct Details {
    file: Option<PathBuf>,
    line: Option<u64>,
    entry: Option<EntryId>,
    field: Option<String>,
    problem: String,
    fix: Option<String>,
}

impl LoadError {
    pub fn new(problem: impl Into<String>) -> Self {
        Self(Box::new(Details {
            file: None,
            line: None,
            entry: None,
            field: None,
            problem: problem.into(),
            fix: None,
        }))
    }

    pub fn file(mut self, file: &Path) -> Self {
        self.0.file = Some(file.to_path_buf());
        self
    }

    pub fn line(mut self, line: u64) -> Self {
        self.0.line = Some(line);
        self
    }

    pub fn entry(mut self, entry: &EntryId) -> Self {
        self.0.entry = Some(entry.clone());
        self
    }

    pub fn field(mut self, field: impl Into<String>) -> Self {
        self.0.field = Some(field.into());
        self
    }

    pub fn fix(mut self, fix: impl Into<String>) -> Self {
        self.0.fix = Some(fix.into());
        self
    }

    /// What the error is about: its entry, else its file, for whoever files it.
    pub fn subject(&self) -> Option<String> {
        match (&self.0.entry, &self.0.file) {
            (Some(entry), _) => Some(entry.to_string()),
            (None, Some(file)) => Some(display_path(file)),
            (None, None) => None,
        }
    }
}

/// Paths are shown relative to the working directory when they are inside it, so that
/// messages stay short and terminals can still open them.
pub(crate) fn display_path(path: &Path) -> String {
    let relative = std::env::current_dir()
        .ok()
        .and_then(|cwd| path.strip_prefix(cwd).ok().map(Path::to_path_buf));
    relative
        .unwrap_or_else(|| path.to_path_buf())
        .display()
        .to_string()
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let details = &self.0;
        if let Some(file) = &details.file {
            match details.line {
                Some(line) => write!(f, "{}:{line}: ", display_path(file))?,
                None => write!(f, "{}: ", display_path(file))?,
            }
        }
        let mut place = Vec::new();
        if let Some(entry) = &details.entry {
            place.push(format!("entry `{entry}`"));
        }
        if let Some(field) = &details.field {
            place.push(format!("field `{field}`"));
        }
        if !place.is_empty() {
            write!(f, "{}: ", place.join(", "))?;
        }
        f.write_str(&details.problem)?;
        if let Some(fix) = &details.fix {
            let mut chars = fix.chars();
            let first = chars
                .next()
                .map(|c| c.to_uppercase().to_string())
                .unwrap_or_default();
            write!(f, ". {first}{}", chars.as_str())?;
        }
        Ok(())
    }
}

impl std::error::Error for LoadError {}

/// Every problem found in one load: loading is all-or-nothing, but the user should see all
/// of what to fix at once, not one error per attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadErrors(pub Vec<LoadError>);

impl From<LoadError> for LoadErrors {
    fn from(error: LoadError) -> Self {
        Self(vec![error])
    }
}

impl fmt::Display for LoadErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, error) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n\n")?;
            }
            write!(f, "{error}")?;
        }
        Ok(())
    }
}

impl std::error::Error for LoadErrors {}
