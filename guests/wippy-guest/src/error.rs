use std::fmt;

/// Why a call to the host, or a payload, failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// The host refused: no such process, a full mailbox, a spawn it cannot make…
    Host(String),
    /// A payload is not the JSON its reader expects (or a value cannot be JSON).
    Json(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Host(message) => f.write_str(message),
            Error::Json(message) => write!(f, "payload: {message}"),
        }
    }
}

impl std::error::Error for Error {}

impl From<serde_json::Error> for Error {
    fn from(error: serde_json::Error) -> Self {
        Error::Json(error.to_string())
    }
}

/// So `?` on a host call or a payload works in an entry point returning `Result<_, String>`.
impl From<Error> for String {
    fn from(error: Error) -> Self {
        error.to_string()
    }
}
