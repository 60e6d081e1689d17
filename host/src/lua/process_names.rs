//! `process.registry`: names for pids, in Wippy's scopes. `LOCAL` (the default) names are
//! this node's; `EVENTUAL`, `CONSISTENT` and `STRONG` names are the whole cluster's (taken
//! once across every node; see the cluster's `names`). A cluster-wide `register` or
//! `unregister` waits for the NATS server, through an async function made on first need.

use mlua::{Lua, Table, Value};

use super::SharedContext;
use super::errors_module::{ALREADY_EXISTS, Failure, INVALID, NOT_FOUND, fail};
use super::lazy::{self, Maker};
use super::process_module::result;
use crate::process::Pid;

/// Wippy's scopes and their wire numbers (`api/topology`: LOCAL 0, EVENTUAL 1, CONSISTENT 2,
/// STRONG 3).
const SCOPES: [(&str, i64); 4] = [
    ("LOCAL", 0),
    ("EVENTUAL", 1),
    ("CONSISTENT", 2),
    ("STRONG", 3),
];

/// Whether a scope argument names the cluster (`Err`: it is no scope).
fn cluster_wide(scope: Option<i64>) -> Result<bool, Failure> {
    match scope {
        None | Some(0) => Ok(false),
        Some(1..=3) => Ok(true),
        Some(other) => Err(fail(
            INVALID,
            format!(
                "{other} is not a scope: use process.registry.LOCAL, EVENTUAL, CONSISTENT or STRONG"
            ),
        )),
    }
}

type Registration = (String, Option<String>, Option<i64>);

pub fn table(lua: &Lua, context: &SharedContext) -> mlua::Result<Table> {
    let registry = lua.create_table()?;
    for (scope, wire) in SCOPES {
        registry.set(scope, wire)?;
    }
    let ctx = context.clone();
    let register: Maker = Box::new(move |lua| {
        let here_ctx = ctx.clone();
        let here = lua.create_function(move |_, (name, pid, scope): Registration| {
            let pid = match target(pid, &here_ctx) {
                Ok(pid) => pid,
                Err(failure) => return Ok((None, Some(failure), false)),
            };
            Ok(match cluster_wide(scope) {
                Err(failure) => (None, Some(failure), false),
                Ok(true) => (None, None, true),
                Ok(false) => {
                    let (done, failure) =
                        result(here_ctx.node.register(&name, &pid), ALREADY_EXISTS);
                    (done, failure, false)
                }
            })
        })?;
        let ctx = ctx.clone();
        let make_later = lua.create_function(move |lua, ()| {
            let ctx = ctx.clone();
            lua.create_async_function(move |_, (name, pid, _): Registration| {
                let ctx = ctx.clone();
                async move {
                    let pid = match target(pid, &ctx) {
                        Ok(pid) => pid,
                        Err(failure) => return Ok((None, Some(failure))),
                    };
                    let outcome = ctx.node.register_in_cluster(&name, &pid).await;
                    Ok(result(outcome, ALREADY_EXISTS))
                }
            })
        })?;
        lazy::here_or_later(lua, here, make_later).map(Value::Function)
    });
    let ctx = context.clone();
    let lookup: Maker = Box::new(move |lua| {
        let ctx = ctx.clone();
        lua.create_function(move |_, name: String| {
            Ok(match ctx.node.lookup(&name) {
                Some(pid) => (Some(pid.to_string()), None),
                None => (None, Some(fail(NOT_FOUND, "name not registered"))),
            })
        })
        .map(Value::Function)
    });
    let ctx = context.clone();
    let unregister: Maker = Box::new(move |lua| {
        let here_ctx = ctx.clone();
        let here = lua.create_function(move |_, (name, scope): (String, Option<i64>)| {
            Ok(match cluster_wide(scope) {
                Err(failure) => (None, Some(failure), false),
                Ok(true) => (None, None, true),
                Ok(false) => (
                    Some(here_ctx.node.unregister(&name, &here_ctx.pid)),
                    None,
                    false,
                ),
            })
        })?;
        let ctx = ctx.clone();
        let make_later = lua.create_function(move |lua, ()| {
            let ctx = ctx.clone();
            lua.create_async_function(move |_, (name, _): (String, Option<i64>)| {
                let ctx = ctx.clone();
                async move { Ok(ctx.node.unregister_in_cluster(&name, &ctx.pid).await) }
            })
        })?;
        lazy::here_or_later(lua, here, make_later).map(Value::Function)
    });
    lazy::fields(
        lua,
        &registry,
        vec![
            ("register", register),
            ("lookup", lookup),
            ("unregister", unregister),
        ],
    )?;
    Ok(registry)
}

/// The pid a registration names: the one given, else the caller's.
fn target(pid: Option<String>, ctx: &SharedContext) -> Result<Pid, Failure> {
    match pid {
        Some(text) => {
            Pid::parse(&text).ok_or_else(|| fail(INVALID, format!("`{text}` is not a pid")))
        }
        None => Ok(ctx.pid.clone()),
    }
}
