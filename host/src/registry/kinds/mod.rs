//! The entry kinds, one module per family. Each owns its YAML fields (Wippy's names, checked
//! with `deny_unknown_fields` so typos get a suggestion), turns them into typed settings, and
//! notes the keys Wippy knows that have no effect here, so `wippy check` can say so.

pub mod hosts;
pub mod http;
pub mod http_limits;
pub mod lifecycle;
pub mod lua;
pub mod pool;
pub mod storage;
pub mod wasm;

use super::{LoadError, Note, closest};

/// Kinds wippy-rs runs.
pub const PROVIDED: &[&str] = &[
    "fs.directory",
    "env.storage.os",
    "env.storage.static",
    "env.variable",
    "process.host",
    "terminal.host",
    "process.wasm",
    "function.wasm",
    "function.wat",
    "process.lua",
    "function.lua",
    "library.lua",
    "process.service",
    "http.service",
    "http.router",
    "http.endpoint",
];

/// Kinds of Wippy's registry that wippy-rs does not run yet. Their entries load (their fields
/// are not checked) and do nothing; `wippy check` lists them, so nothing is silently ignored.
pub const WIPPY_ONLY: &[&str] = &[
    "http.static",
    "function.lua.bc",
    "process.lua.bc",
    "library.lua.bc",
    "workflow.lua",
    "workflow.lua.bc",
    "registry.entry",
    "ns.requirement",
    "ns.dependency",
    "ns.definition",
    "fs.embed",
    "env.storage.memory",
    "env.storage.file",
    "env.storage.router",
    "exec.native",
    "exec.docker",
    "db.sql.postgres",
    "db.sql.mysql",
    "db.sql.sqlite",
    "db.cdc.postgres",
    "security.policy",
    "security.policy.expr",
    "security.token_store",
    "contract.definition",
    "contract.binding",
    "template.jet",
    "template.set",
    "store.memory",
    "store.sql",
    "store.kv.raft",
    "store.kv.crdt",
    "queue.driver.memory",
    "queue.driver.amqp",
    "queue.driver.sqs",
    "queue.queue",
    "queue.consumer",
    "config.aws",
    "cloudstorage.s3",
    "temporal.client",
    "temporal.worker",
    "network.socks5",
    "network.i2p",
    "network.tailscale",
    "pg.scope",
];

/// Records that `field` was given and is accepted without effect, and why.
pub(super) fn inert(notes: &mut Vec<Note>, field: &str, present: bool, why: &str) {
    if present {
        notes.push(Note::inert(field, why));
    }
}

/// `field` was given, but `kind` has no such field; `fix` says what to write instead.
pub(super) fn not_a_field(
    kind: &str,
    field: &str,
    given: bool,
    fix: &str,
) -> Result<(), LoadError> {
    match given {
        true => Err(
            LoadError::new(format!("`{field}` is not a field of {kind}"))
                .field(field)
                .fix(fix.to_string()),
        ),
        false => Ok(()),
    }
}

/// `wrong` is not one of `known` (`what` names the set: "pool type"): the nearest word, or
/// the list.
pub(super) fn not_one_of(wrong: &str, what: &str, field: &str, known: &[&str]) -> LoadError {
    let fix = match closest(wrong, known) {
        Some(near) => format!("did you mean `{near}`?"),
        None => format!("use one of: {}", known.join(", ")),
    };
    LoadError::new(format!("`{wrong}` is not a {what}"))
        .field(field)
        .fix(fix)
}
