//! `system`, the part of Wippy's module about the node and its cluster: `system.node.id()`,
//! `system.cluster.members()` (`{id, is_local}` each, this node first) and
//! `system.cluster.size()`. A node in no cluster is a cluster of one, named `local`. The rest
//! of Wippy's `system` (memory, gc, runtime, raft) is not provided.

use mlua::{Lua, Table};

use super::SharedContext;

pub fn create(lua: &Lua, context: &SharedContext) -> mlua::Result<Table> {
    let module = lua.create_table()?;
    let node = lua.create_table()?;
    let of = context.node.clone();
    node.set(
        "id",
        lua.create_function(move |_, ()| Ok(of.membership().node()))?,
    )?;
    module.set("node", node)?;
    let cluster = lua.create_table()?;
    let of = context.node.clone();
    cluster.set(
        "members",
        lua.create_function(move |lua, ()| {
            let membership = of.membership();
            let me = membership.node();
            let members = lua.create_table()?;
            for (i, id) in membership.nodes().into_iter().enumerate() {
                let member = lua.create_table()?;
                member.set("is_local", id == me)?;
                member.set("id", id)?;
                members.set(i + 1, member)?;
            }
            Ok(members)
        })?,
    )?;
    let of = context.node.clone();
    cluster.set(
        "size",
        lua.create_function(move |_, ()| Ok(of.membership().nodes().len()))?,
    )?;
    module.set("cluster", cluster)?;
    Ok(module)
}
