//! Module fields made on first use.
//!
//! Every Lua process gets a state of its own, and each async function mlua makes compiles a
//! small Lua wrapper into that state: about 2 KiB and 15 µs per function per process, paid
//! by every process whether it calls the function or not. A field listed here is absent
//! from its table until a script reads it; the read makes it (through the table's
//! `__index`), stores it in the table, and later reads find it there. Reading, calling and
//! replacing such a field behave as for any field; only `pairs` does not list one that was
//! never read, and the table's metatable is protected (`setmetatable` on it is an error).
//!
//! Whole standard libraries are loaded the same way ([`libraries`]): `math` and `utf8` are
//! a tenth of a waiting process (3.5 KiB of tables and names, and the names grow the string
//! table), and most processes never use them.

use std::sync::Arc;

use mlua::{Function, Lua, StdLib, Table, Value};

/// Makes one field's value.
pub type Maker = Box<dyn Fn(&Lua) -> mlua::Result<Value> + Send>;

/// Gives `table` the `fields` to make on first read. The table must have no metatable.
pub fn fields(lua: &Lua, table: &Table, fields: Vec<(&'static str, Maker)>) -> mlua::Result<()> {
    debug_assert!(table.metatable().is_none(), "a lazy table has no metatable");
    let index = lua.create_function(move |lua, (table, key): (Table, Value)| {
        let Value::String(key) = &key else {
            return Ok(Value::Nil);
        };
        let Some((name, make)) = fields
            .iter()
            .find(|(name, _)| key.as_bytes() == name.as_bytes())
        else {
            return Ok(Value::Nil);
        };
        let value = make(lua)?;
        table.raw_set(*name, value.clone())?;
        Ok(value)
    })?;
    let meta = lua.create_table_with_capacity(0, 2)?;
    meta.raw_set("__index", index)?;
    // A script replacing it would lose the fields not yet made: refused, with Lua's error.
    meta.raw_set("__metatable", false)?;
    table.set_metatable(Some(meta))
}

/// A function that runs `here` (a plain function) and, when its third result is `true`,
/// runs the async function `make_later` makes (once, on first need) with the same
/// arguments instead: a call that can wait (for another node, say) pays for the async
/// machinery only when it does.
pub fn here_or_later(lua: &Lua, here: Function, make_later: Function) -> mlua::Result<Function> {
    lua.load(HERE_OR_LATER)
        .set_name("=here_or_later")
        .call((here, make_later))
}

const HERE_OR_LATER: &str = r#"
local here, make_later = ...
local later
return function(...)
  local a, b, wait = here(...)
  if not wait then return a, b end
  later = later or make_later()
  return later(...)
end
"#;

/// Makes each global `name` an empty table that loads its standard library into itself on
/// its first read (`math.floor`) or `pairs`, then is a plain table. Only `next` and `rawget`
/// on a library never read see it empty. What a script stored in it first stays.
pub fn libraries(lua: &Lua, libraries: &[(&'static str, StdLib)]) -> mlua::Result<()> {
    let mut stubs = Vec::with_capacity(libraries.len());
    for &(name, library) in libraries {
        stubs.push((lua.create_table()?, name, library));
    }
    let meta = lua.create_table_with_capacity(0, 3)?;
    let globals = lua.globals();
    let loaded: Table = lua.named_registry_value("_LOADED")?;
    for (stub, name, _) in &stubs {
        stub.set_metatable(Some(meta.clone()))?;
        globals.raw_set(*name, stub)?;
        loaded.raw_set(*name, stub)?;
    }
    let load = Arc::new(move |lua: &Lua, stub: &Table| -> mlua::Result<()> {
        // Only the stubs carry this metatable, and each loses it once loaded.
        let Some((_, name, library)) = stubs.iter().find(|(s, ..)| s == stub) else {
            return Ok(());
        };
        // Lua loads a library that `package.loaded` lacks, as the global and in
        // `package.loaded`: both are put back.
        let globals = lua.globals();
        let loaded: Table = lua.named_registry_value("_LOADED")?;
        let global = globals.raw_get::<Value>(*name)?;
        let required = loaded.raw_get::<Value>(*name)?;
        loaded.raw_set(*name, Value::Nil)?;
        lua.load_std_libs(*library)?;
        let real: Table = globals.raw_get(*name)?;
        globals.raw_set(*name, global)?;
        loaded.raw_set(*name, required)?;
        stub.set_metatable(None)?;
        for pair in real.pairs::<Value, Value>() {
            let (key, value) = pair?;
            if stub.raw_get::<Value>(&key)?.is_nil() {
                stub.raw_set(key, value)?;
            }
        }
        Ok(())
    });
    let on_read = load.clone();
    meta.raw_set(
        "__index",
        lua.create_function(move |lua, (stub, key): (Table, Value)| {
            on_read(lua, &stub)?;
            stub.raw_get::<Value>(key)
        })?,
    )?;
    let next: Function = globals.get("next")?;
    meta.raw_set(
        "__pairs",
        lua.create_function(move |lua, stub: Table| {
            load(lua, &stub)?;
            Ok((next.clone(), stub, Value::Nil))
        })?,
    )?;
    // A script replacing it would leave the library unloaded: refused, with Lua's error.
    meta.raw_set("__metatable", false)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[test]
    fn a_field_is_made_once_on_first_read_and_behaves_as_any_other() {
        let lua = Lua::new();
        let made = Arc::new(AtomicUsize::new(0));
        let counter = made.clone();
        let module = lua.create_table().unwrap();
        module.set("plain", 1).unwrap();
        let make: Maker = Box::new(move |lua| {
            counter.fetch_add(1, Ordering::SeqCst);
            Ok(Value::Function(lua.create_function(|_, n: i64| Ok(n * 2))?))
        });
        fields(&lua, &module, vec![("double", make)]).unwrap();
        lua.globals().set("m", module).unwrap();
        assert_eq!(made.load(Ordering::SeqCst), 0, "nothing made before a read");
        let (listed, twice, again, missing): (i64, i64, bool, Value) = lua
            .load(
                r#"
                local listed = 0
                for _ in pairs(m) do listed = listed + 1 end
                local f = m.double
                return listed, m.double(21), rawequal(f, m.double), m.absent
                "#,
            )
            .eval()
            .unwrap();
        assert_eq!((listed, twice, again), (1, 42, true));
        assert!(missing.is_nil(), "an unknown field is nil");
        assert_eq!(made.load(Ordering::SeqCst), 1, "made once");
        let replaced: i64 = lua
            .load("m.double = function() return 7 end return m.double()")
            .eval()
            .unwrap();
        assert_eq!(replaced, 7, "a script may replace it");
        let refused: String = lua
            .load("local ok, err = pcall(setmetatable, m, {}) return tostring(ok) .. ': ' .. err")
            .eval()
            .unwrap();
        assert_eq!(refused, "false: cannot change a protected metatable");
    }

    #[test]
    fn a_library_loads_on_first_read_or_pairs_and_keeps_what_a_script_stored() {
        let lua = Lua::new_with(StdLib::NONE, mlua::LuaOptions::default()).unwrap();
        lua.load_std_libs(StdLib::PACKAGE).unwrap();
        libraries(&lua, &[("math", StdLib::MATH), ("utf8", StdLib::UTF8)]).unwrap();
        let (before, floor, same, required, kept): (bool, i64, bool, bool, i64) = lua
            .load(
                r#"
                local before = rawget(math, "floor") == nil
                math.mine = 7
                local floor = math.floor(2.5)
                return before, floor, rawequal(_G.math, math), require("math") == math, math.mine
                "#,
            )
            .eval()
            .unwrap();
        assert_eq!(
            (before, floor, same, required, kept),
            (true, 2, true, true, 7)
        );
        let (listed, char, meta): (i64, String, bool) = lua
            .load(
                r#"
                local listed = 0
                for _ in pairs(utf8) do listed = listed + 1 end
                return listed, utf8.char(72, 105), getmetatable(math) == nil
                "#,
            )
            .eval()
            .unwrap();
        assert!(listed >= 6, "pairs lists the loaded library ({listed})");
        assert_eq!((char.as_str(), meta), ("Hi", true));
    }
}
