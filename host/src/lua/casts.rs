//! Wippy's cast `string(x)`: the `string` table is callable, giving `x` as a string — a
//! string as it is, a number as its text — and failing for anything else, so a wrong value
//! stops where it is cast rather than travelling on.

use mlua::{Lua, Table};

const CASTS: &str = r#"
local string, type, tostring, error = ...
setmetatable(string, {
  __call = function(_, value)
    local kind = type(value)
    if kind == "string" then return value end
    if kind == "number" then return tostring(value) end
    error("cannot cast a " .. kind .. " to string", 2)
  end,
})
"#;

pub fn install(lua: &Lua) -> mlua::Result<()> {
    let globals = lua.globals();
    let string: Table = globals.get("string")?;
    super::sandbox::trusted(lua, "casts", CASTS)?.call::<()>((
        string,
        globals.get::<mlua::Function>("type")?,
        globals.get::<mlua::Function>("tostring")?,
        globals.get::<mlua::Function>("error")?,
    ))
}
