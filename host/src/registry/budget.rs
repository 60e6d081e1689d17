//! How much text one registry load may hold. A registry is read whole into memory (its YAML
//! and every `file://` text), so without a bound a few lines of YAML naming a big file many
//! times could make the host allocate gigabytes before anything runs. The bound is a total
//! over the load, plus a cap on any single file.

use super::LoadError;

/// The environment variable that sets the total, in bytes.
pub const BUDGET_VARIABLE: &str = "WIPPY_MAX_REGISTRY_BYTES";
/// The total when the variable is not set: far above any real project's YAML and scripts.
pub const DEFAULT_BUDGET: u64 = 256 * MIB;
/// The most one file (YAML or `file://` target) may hold: registry text is configuration and
/// scripts; data belongs in an `fs.directory`, read at run time.
pub const FILE_LIMIT: u64 = 64 * MIB;

const MIB: u64 = 1024 * 1024;

/// Bytes charged so far against the load's limit.
#[derive(Debug)]
pub struct Budget {
    limit: u64,
    used: u64,
    exhausted: bool,
}

impl Budget {
    /// [`DEFAULT_BUDGET`], or what `WIPPY_MAX_REGISTRY_BYTES` says.
    pub fn from_env() -> Result<Self, LoadError> {
        let Some(value) = std::env::var_os(BUDGET_VARIABLE) else {
            return Ok(Self::new(DEFAULT_BUDGET));
        };
        let text = value.to_string_lossy();
        match text.trim().parse::<u64>() {
            Ok(limit) if limit > 0 => Ok(Self::new(limit)),
            _ => Err(LoadError::new(format!(
                "{BUDGET_VARIABLE}=`{text}` is not a number of bytes above 0"
            ))
            .fix(format!(
                "set it to a whole number of bytes, such as {BUDGET_VARIABLE}={} for 512 MiB, or unset it for the default of {}",
                512 * MIB,
                human(DEFAULT_BUDGET)
            ))),
        }
    }

    pub fn new(limit: u64) -> Self {
        Self {
            limit,
            used: 0,
            exhausted: false,
        }
    }

    /// Adds `bytes` for `what` (such as "`file://big.txt` (src/big.txt)"), or says the load
    /// went over its budget. Once it has, the load stops: every later file would fail too.
    pub fn charge(&mut self, bytes: u64, what: &str) -> Result<(), LoadError> {
        let total = self.used.saturating_add(bytes);
        if total > self.limit {
            self.exhausted = true;
            return Err(LoadError::new(format!(
                "{what} would bring the text this registry loads to {total} bytes, over its budget of {} bytes ({})",
                self.limit,
                human(self.limit)
            ))
            .fix(format!(
                "if the project needs that much, raise the budget with {BUDGET_VARIABLE}=<bytes> (the default is {DEFAULT_BUDGET}, {}); otherwise load less text: a file named by `source: file://…` counts once however many entries name it, but one copied into any other field counts each time",
                human(DEFAULT_BUDGET)
            )));
        }
        self.used = total;
        Ok(())
    }

    pub fn exhausted(&self) -> bool {
        self.exhausted
    }
}

/// `256 MiB`, `1.5 KiB`, `12 bytes`.
pub fn human(bytes: u64) -> String {
    const KIB: u64 = 1024;
    match bytes {
        b if b >= MIB && b % MIB == 0 => format!("{} MiB", b / MIB),
        b if b >= MIB => format!("{:.1} MiB", b as f64 / MIB as f64),
        b if b >= KIB && b % KIB == 0 => format!("{} KiB", b / KIB),
        b if b >= KIB => format!("{:.1} KiB", b as f64 / KIB as f64),
        b => format!("{b} bytes"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charges_add_up_to_the_limit_and_no_further() {
        let mut budget = Budget::new(10);
        budget.charge(4, "a").unwrap();
        budget.charge(6, "b").unwrap();
        assert!(!budget.exhausted());
        let error = budget.charge(1, "`file://c`").unwrap_err().to_string();
        assert!(
            error.starts_with("`file://c` would bring the text this registry loads to 11 bytes, over its budget of 10 bytes (10 bytes)"),
            "{error}"
        );
        assert!(
            error.contains("WIPPY_MAX_REGISTRY_BYTES=<bytes>"),
            "{error}"
        );
        assert!(budget.exhausted());
    }

    #[test]
    fn sizes_read_as_people_write_them() {
        assert_eq!(human(DEFAULT_BUDGET), "256 MiB");
        assert_eq!(human(1536), "1.5 KiB");
        assert_eq!(human(3 * MIB / 2), "1.5 MiB");
        assert_eq!(human(12), "12 bytes");
    }
}
