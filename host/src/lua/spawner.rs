//! Spawning from Lua: `process.spawn*` and the Spawner that `process.with_context{...}` and
//! `process.with_options{...}` return (chainable, each call a new Spawner), whose spawns carry
//! context values (read by the child with `ctx`), a registered name, or first messages.

use std::collections::BTreeMap;
use std::sync::Arc;

use mlua::{
    AnyUserData, Function, Lua, MetaMethod, Table, UserData, UserDataMethods, Value, Variadic,
};

use super::SharedContext;
use super::convert::to_payload;
use super::errors_module::{INTERNAL, fail};
use crate::process::{ProcessContext, SpawnRequest};
use crate::registry::EntryId;
use crate::values::Payload;

/// What a spawn carries beyond its entry, host and arguments.
#[derive(Clone, Default)]
pub struct Spawner {
    context: BTreeMap<String, Payload>,
    name: Option<String>,
    messages: Vec<(String, Payload)>,
}

/// The four ways to spawn: (name, monitor, link).
pub const SPAWNS: [(&str, bool, bool); 4] = [
    ("spawn", false, false),
    ("spawn_monitored", true, false),
    ("spawn_linked", false, true),
    ("spawn_linked_monitored", true, true),
];

pub fn args_to_payloads(args: &[Value]) -> Result<Vec<Payload>, String> {
    args.iter()
        .enumerate()
        .map(|(i, arg)| to_payload(arg).map_err(|e| format!("argument {}: {e}", i + 1)))
        .collect()
}

impl Spawner {
    /// Starts `id` on `host` as a child of the calling process: its pid, or why not;
    /// `None` when `host` names another node (`app:processes@b`), which
    /// [`Spawner::spawn_elsewhere`] waits for.
    pub fn spawn(
        &self,
        ctx: &ProcessContext,
        call: (String, String, Variadic<Value>),
        monitor: bool,
        link: bool,
    ) -> Result<Option<String>, String> {
        match self.request(ctx, call, monitor, link)? {
            (request, None) => self.spawn_here(ctx, request).map(Some),
            (_, Some(_)) => Ok(None),
        }
    }

    fn spawn_here(&self, ctx: &ProcessContext, request: SpawnRequest) -> Result<String, String> {
        let spawned = ctx.node.spawn(request)?;
        if let Some(name) = &self.name {
            ctx.node.register(name, &spawned.pid)?;
        }
        Ok(spawned.pid.to_string())
    }

    /// [`Spawner::spawn`], on this node or another (then waiting for its answer).
    pub async fn spawn_anywhere(
        &self,
        ctx: &ProcessContext,
        call: (String, String, Variadic<Value>),
        monitor: bool,
        link: bool,
    ) -> Result<String, String> {
        let (request, node) = self.request(ctx, call, monitor, link)?;
        let Some(node) = node else {
            return self.spawn_here(ctx, request);
        };
        if let Some(name) = &self.name {
            return Err(format!(
                "`with_name(\"{name}\")` names a process of this node, and this spawn is on node `{node}`; register the name there (the child can call `process.registry.register`)"
            ));
        }
        let pid = ctx.node.spawn_elsewhere(&node, request).await?;
        Ok(pid.to_string())
    }

    /// What to start and on which other node, if any.
    fn request(
        &self,
        ctx: &ProcessContext,
        (id, host, args): (String, String, Variadic<Value>),
        monitor: bool,
        link: bool,
    ) -> Result<(SpawnRequest, Option<String>), String> {
        let args = args_to_payloads(&args)?;
        let mut context = (*ctx.context).clone();
        context.extend(self.context.clone());
        let namespace = &ctx.entry.namespace;
        let (host, node) = ctx.node.placement(&host);
        let request = SpawnRequest {
            parent: Some(ctx.pid.clone()),
            monitor,
            link,
            context: Arc::new(context),
            messages: self.messages.clone(),
            ..SpawnRequest::new(
                EntryId::resolve(&id, namespace),
                EntryId::resolve(host, namespace),
                args,
            )
        };
        Ok((request, node.map(str::to_string)))
    }

    fn with_context(&self, values: Table) -> mlua::Result<Self> {
        let mut next = self.clone();
        for pair in values.pairs::<Value, Value>() {
            let (key, value) = pair?;
            let Value::String(key) = key else {
                return Err(mlua::Error::runtime("context keys must be strings"));
            };
            let value = to_payload(&value).map_err(mlua::Error::runtime)?;
            next.context.insert(key.to_str()?.to_string(), value);
        }
        Ok(next)
    }
}

/// `process.with_context(values)` and `process.with_options(options)`.
pub fn install(lua: &Lua, module: &Table, context: &SharedContext) -> mlua::Result<()> {
    let ctx = context.clone();
    module.set(
        "with_context",
        lua.create_function(move |_, values: Table| {
            Ok(LuaSpawner {
                spawner: Spawner::default().with_context(values)?,
                context: ctx.clone(),
            })
        })?,
    )?;
    // Options are for hosts to interpret (as in Wippy); the hosts here take none.
    let ctx = context.clone();
    module.set(
        "with_options",
        lua.create_function(move |_, _options: Table| {
            Ok(LuaSpawner {
                spawner: Spawner::default(),
                context: ctx.clone(),
            })
        })?,
    )?;
    Ok(())
}

pub struct LuaSpawner {
    pub spawner: Spawner,
    pub context: SharedContext,
}

impl UserData for LuaSpawner {
    fn add_methods<M: UserDataMethods<Self>>(methods: &mut M) {
        methods.add_method("with_context", |_, this, values: Table| {
            Ok(LuaSpawner {
                spawner: this.spawner.with_context(values)?,
                context: this.context.clone(),
            })
        });
        methods.add_method("with_options", |_, this, _options: Table| {
            Ok(LuaSpawner {
                spawner: this.spawner.clone(),
                context: this.context.clone(),
            })
        });
        methods.add_method("with_name", |_, this, name: String| {
            let mut spawner = this.spawner.clone();
            spawner.name = Some(name);
            Ok(LuaSpawner {
                spawner,
                context: this.context.clone(),
            })
        });
        methods.add_method(
            "with_message",
            |_, this, (topic, values): (String, Variadic<Value>)| {
                let payload = match values.len() {
                    0 => Payload::Nil,
                    1 => to_payload(&values[0]).map_err(mlua::Error::runtime)?,
                    _ => Payload::List(args_to_payloads(&values).map_err(mlua::Error::runtime)?),
                };
                let mut spawner = this.spawner.clone();
                spawner.messages.push((topic, payload));
                Ok(LuaSpawner {
                    spawner,
                    context: this.context.clone(),
                })
            },
        );
        for name in ["with_actor", "with_scope"] {
            methods.add_method(name, move |_, _, _: Value| -> mlua::Result<LuaSpawner> {
                Err(mlua::Error::runtime(format!(
                    "Spawner:{name} sets a security actor or scope; wippy-rs has no security policies (capabilities are granted per entry with `imports`)"
                )))
            });
        }
        // The spawns are found through `__index` (after the methods above): each is a
        // function of the spawner and the spawn's arguments, as `process.spawn*` are.
        methods.add_meta_function(
            MetaMethod::Index,
            |lua, (_, key): (Value, String)| match SPAWNS.iter().find(|(name, ..)| *name == key) {
                Some(&(name, monitor, link)) => spawn_method(lua, name, monitor, link),
                None => Ok(Value::Nil),
            },
        );
    }
}

/// A spawn's entry, host and arguments, as a script passes them.
pub type Call = (String, String, Variadic<Value>);

/// `process.spawn*` and `spawner:spawn*`: a spawn on this node through a plain function, one
/// on another node through an async one made on first need (see `lazy::here_or_later`).
/// `parts` takes the function's arguments apart: the spawner, the spawning process, the
/// spawn.
pub fn spawn_function<A, P>(
    lua: &Lua,
    monitor: bool,
    link: bool,
    parts: P,
) -> mlua::Result<Function>
where
    A: mlua::FromLuaMulti + Send + 'static,
    P: Fn(A) -> mlua::Result<(Spawner, SharedContext, Call)> + Clone + Send + 'static,
{
    let split = parts.clone();
    let here = lua.create_function(move |_, args: A| {
        let (spawner, ctx, call) = split(args)?;
        Ok(match spawner.spawn(&ctx, call, monitor, link) {
            Ok(Some(pid)) => (Some(pid), None, false),
            Ok(None) => (None, None, true),
            Err(error) => (None, Some(fail(INTERNAL, error)), false),
        })
    })?;
    let make_later = lua.create_function(move |lua, ()| {
        let parts = parts.clone();
        lua.create_async_function(move |_, args: A| {
            let split = parts(args);
            async move {
                let (spawner, ctx, call) = split?;
                Ok(
                    match spawner.spawn_anywhere(&ctx, call, monitor, link).await {
                        Ok(pid) => (Some(pid), None),
                        Err(error) => (None, Some(fail(INTERNAL, error))),
                    },
                )
            }
        })
    })?;
    super::lazy::here_or_later(lua, here, make_later)
}

/// `spawner:spawn*(...)`, made once per state.
fn spawn_method(lua: &Lua, name: &str, monitor: bool, link: bool) -> mlua::Result<Value> {
    let key = format!("wippy.spawner.{name}");
    if let Value::Function(made) = lua.named_registry_value::<Value>(&key)? {
        return Ok(Value::Function(made));
    }
    let parts = |(this, id, host, args): (AnyUserData, String, String, Variadic<Value>)| {
        let this = this.borrow::<LuaSpawner>()?;
        Ok((this.spawner.clone(), this.context.clone(), (id, host, args)))
    };
    let made = spawn_function(lua, monitor, link, parts)?;
    lua.set_named_registry_value(&key, &made)?;
    Ok(Value::Function(made))
}
