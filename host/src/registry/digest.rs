use std::fmt;

use sha2::{Digest, Sha256};

/// A sha256 content hash, written `sha256:<64 lowercase hex digits>` in the registry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Sha256Digest(pub [u8; 32]);

impl Sha256Digest {
    pub fn of(bytes: &[u8]) -> Self {
        Self(Sha256::digest(bytes).into())
    }

    /// Parses the registry form; the error says what is wrong with the text.
    pub fn parse(text: &str) -> Result<Self, String> {
        let Some(hex) = text.strip_prefix("sha256:") else {
            return Err(format!("`{text}` does not start with `sha256:`"));
        };
        if hex.len() != 64 {
            return Err(format!(
                "`{text}` has {} hex digits after `sha256:`, not 64",
                hex.len()
            ));
        }
        if let Some(bad) = hex.chars().find(|c| !matches!(c, '0'..='9' | 'a'..='f')) {
            return Err(format!(
                "`{text}` contains `{bad}`, which is not a lowercase hex digit"
            ));
        }
        let mut digest = [0u8; 32];
        for (i, byte) in digest.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).expect("checked hex digits");
        }
        Ok(Self(digest))
    }

    pub fn hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }
}

impl fmt::Display for Sha256Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "sha256:{}", self.hex())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_matches_sha256sum() {
        let digest = Sha256Digest::of(b"abc");
        assert_eq!(
            digest.to_string(),
            "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(Sha256Digest::parse(&digest.to_string()), Ok(digest));
    }

    #[test]
    fn rejects_malformed_text() {
        assert!(
            Sha256Digest::parse("md5:00")
                .unwrap_err()
                .contains("does not start with `sha256:`")
        );
        assert!(
            Sha256Digest::parse("sha256:abc")
                .unwrap_err()
                .contains("3 hex digits")
        );
        let upper = format!("sha256:{}", "A".repeat(64));
        assert!(Sha256Digest::parse(&upper).unwrap_err().contains("`A`"));
    }
}
