//! Module fields made on first use.
//!
//! Every Lua process gets a state of its own, and each async function mlua makes compiles a
//! small Lua wrapper into that state: about 2 KiB and 15 µs per function per process, paid
//! by every process whether it calls the function or not. A field listed here is absent
//! from its table until a script reads it; the read makes it (through the table's
//! `__index`), stores it in the table, and later reads find it there. Reading, calling and
//! replacing such a field behave as for any field; only `pairs` does not list one that was
//! never read, and the table's metatable is protected (`setmetatable` on it is an error).

use mlua::{Lua, Table, Value};

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
}
