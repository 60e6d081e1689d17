//! `pool` of a function entry (`function.wasm`, `function.wat`, `function.lua`), as Wippy
//! declares it. Here every call gets a fresh instance, so a pool is not a set of warm workers:
//! it bounds how many calls of the function run at once and how many may wait for a turn.
//!
//! | type | calls at once | waiting calls |
//! |---|---|---|
//! | `inline` | no bound: the call runs in its caller | — |
//! | `lazy` | `max_size` (16) | no bound |
//! | `static` | `workers`, else `size`, else 8 | `buffer` (workers × 64); more fail at once |
//! | `adaptive` | `max_size` (16) | max_size × 64; more fail at once |
//! | none | as `lazy` with `max_size` (100); as `static` when `workers` is set; else `inline` |
//!
//! `warm_start: true` asks for the entry to be compiled when its node starts; a node compiles
//! every entry then (`Node::prepare_all`).

use serde::Deserialize;

use super::not_one_of;
use crate::registry::LoadError;

const TYPES: &[&str] = &["inline", "lazy", "static", "adaptive"];

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(in crate::registry) struct PoolSpec {
    r#type: Option<String>,
    #[serde(default)]
    size: usize,
    #[serde(default)]
    workers: usize,
    #[serde(default)]
    buffer: usize,
    #[serde(default)]
    warm_start: bool,
    #[serde(default)]
    max_size: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pool {
    /// At most this many calls run at once; `None`: no bound.
    pub concurrency: Option<usize>,
    /// At most this many calls wait for a turn; one more fails at once. `None`: no bound.
    pub queue: Option<usize>,
    pub warm_start: bool,
}

impl Default for Pool {
    /// Wippy's default for a function without `pool`: lazy, up to 100 calls at once.
    fn default() -> Self {
        Self::lazy(100, false)
    }
}

impl Pool {
    fn lazy(max_size: usize, warm_start: bool) -> Self {
        Self {
            concurrency: Some(max_size),
            queue: None,
            warm_start,
        }
    }

    fn queued(concurrency: usize, queue: usize, warm_start: bool) -> Self {
        Self {
            concurrency: Some(concurrency),
            queue: Some(queue),
            warm_start,
        }
    }
}

impl PoolSpec {
    pub(in crate::registry) fn resolve(self) -> Result<Pool, LoadError> {
        let or = |value: usize, default: usize| if value > 0 { value } else { default };
        if self.workers > 0 && self.size == 0 {
            return Err(
                LoadError::new("a pool with `workers` needs a `size` greater than 0")
                    .field("pool.size")
                    .fix(format!(
                        "add `size: {}` (Wippy refuses this pool too)",
                        self.workers
                    )),
            );
        }
        let warm = self.warm_start;
        let static_pool = || {
            let workers = or(self.workers, or(self.size, 8));
            Pool::queued(workers, or(self.buffer, workers * 64), warm)
        };
        Ok(match self.r#type.as_deref() {
            Some("inline") => Pool {
                concurrency: None,
                queue: None,
                warm_start: warm,
            },
            Some("lazy") => Pool::lazy(or(self.max_size, 16), warm),
            Some("static") => static_pool(),
            Some("adaptive") => {
                let max = or(self.max_size, 16);
                Pool::queued(max, max * 64, warm)
            }
            Some(other) => return Err(not_one_of(other, "pool type", "pool.type", TYPES)),
            None if self.workers == 0 && (self.size == 0 || self.max_size > 0) => {
                Pool::lazy(or(self.max_size, 100), warm)
            }
            None if self.workers > 0 => static_pool(),
            None => Pool {
                concurrency: None,
                queue: None,
                warm_start: warm,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pool(yaml: &str) -> Result<Pool, LoadError> {
        serde_saphyr::from_str::<PoolSpec>(yaml).unwrap().resolve()
    }

    #[test]
    fn each_type_gets_its_bounds() {
        let bounds = |yaml| {
            let p = pool(yaml).unwrap();
            (p.concurrency, p.queue)
        };
        assert_eq!(bounds("type: inline"), (None, None));
        assert_eq!(bounds("type: lazy"), (Some(16), None));
        assert_eq!(bounds("{type: lazy, max_size: 2}"), (Some(2), None));
        assert_eq!(
            bounds("{type: static, size: 1, workers: 1, buffer: 8}"),
            (Some(1), Some(8))
        );
        assert_eq!(bounds("{type: static, size: 3}"), (Some(3), Some(192)));
        assert_eq!(
            bounds("{type: adaptive, max_size: 2}"),
            (Some(2), Some(128))
        );
        assert_eq!(bounds("{}"), (Some(100), None));
        assert_eq!(bounds("{max_size: 4}"), (Some(4), None));
        assert_eq!(bounds("{size: 4}"), (None, None));
        assert_eq!(bounds("{size: 2, workers: 2}"), (Some(2), Some(128)));
        assert!(pool("{type: lazy, warm_start: true}").unwrap().warm_start);
    }

    #[test]
    fn wrong_pools_are_refused_with_a_fix() {
        let error = pool("type: lazzy").unwrap_err().to_string();
        assert_eq!(
            error,
            "field `pool.type`: `lazzy` is not a pool type. Did you mean `lazy`?"
        );
        let error = pool("{type: static, workers: 2}").unwrap_err().to_string();
        assert!(error.contains("needs a `size`"), "{error}");
    }
}
