//! `string.gsub(s, pattern, repl [, n])`: every match (up to `n`) replaced by a string with
//! `%0`–`%9` and `%%`, by the value a table holds for the first capture, or by what a
//! function returns for the captures; `false` or `nil` from a table or function keeps the
//! match as it was. Returns the new string and how many matches there were.
//!
//! The result is gathered in a `luaL_Buffer`, as Lua's own gsub does: it lives on the Lua
//! stack, so a replacement function that raises an error leaves nothing to free, and it
//! counts against the state's memory limit.

use std::ffi::{CStr, c_char, c_int};
use std::fmt::Write;
use std::mem::MaybeUninit;

use mlua::ffi;

use super::matcher::{Captured, Matcher};
use super::{
    StackText, arg_bytes, budget, bytes_at, guarded, push_capture, push_captures, raise,
    raise_text, strip_anchor,
};

const NAME: &str = "string.gsub";

pub(super) unsafe extern "C-unwind" fn gsub(state: *mut ffi::lua_State) -> c_int {
    unsafe {
        let src = arg_bytes(state, 1);
        let pat = arg_bytes(state, 2);
        let kind = ffi::lua_type(state, 3);
        // Lua reads `n` before it looks at `repl`, so a bad `n` is the error reported.
        let max = ffi::luaL_optinteger(state, 4, src.len() as ffi::lua_Integer + 1);
        let repl = match kind {
            ffi::LUA_TNUMBER | ffi::LUA_TSTRING => bytes_at(state, 3),
            ffi::LUA_TFUNCTION | ffi::LUA_TTABLE => &[],
            _ => type_error(state, 3, c"string/function/table"),
        };
        let mut buffer = MaybeUninit::<ffi::luaL_Buffer>::uninit();
        // The buffer points into itself: it stays where it is until the end.
        let b = buffer.as_mut_ptr();
        ffi::luaL_buffinit(state, b);
        let (anchored, pat) = strip_anchor(pat);
        let mut matcher = Matcher::new(src, pat, budget(src.len()));
        // `src[..copied]` is in the buffer already; the bytes from there to `s` are kept as
        // they are, and added when the next match (or the end) comes.
        let (mut s, mut copied) = (0, 0);
        let mut last_end = usize::MAX;
        let mut count: ffi::lua_Integer = 0;
        let mut changed = false;
        while count < max {
            let found = guarded(|| matcher.next_match(s, last_end, anchored))
                .unwrap_or_else(|e| raise(state, NAME, e));
            let Some((start, end)) = found else {
                break;
            };
            count += 1;
            // Filling in a replacement string is work too (one with thousands of `%0`s for
            // each of a million empty matches would take minutes): it counts as steps.
            if repl.len() > 1 {
                (matcher.spend(repl.len() as u64 / 2)).unwrap_or_else(|e| raise(state, NAME, e));
            }
            add_bytes(b, &src[copied..start]);
            changed |= add_value(state, b, &matcher, start, end, kind, repl);
            (s, copied, last_end) = (end, end, end);
            if anchored {
                break;
            }
        }
        if changed {
            add_bytes(b, &src[copied..]);
            ffi::luaL_pushresult(b);
        } else {
            ffi::lua_pushvalue(state, 1);
        }
        ffi::lua_pushinteger(state, count);
        2
    }
}

/// Adds the replacement for the match `s..e`; whether it differs from the match (a string
/// replacement always counts as different, as in Lua).
unsafe fn add_value(
    state: *mut ffi::lua_State,
    b: *mut ffi::luaL_Buffer,
    matcher: &Matcher,
    s: usize,
    e: usize,
    kind: c_int,
    repl: &[u8],
) -> bool {
    unsafe {
        match kind {
            ffi::LUA_TFUNCTION => {
                ffi::lua_pushvalue(state, 3);
                let n = push_captures(state, matcher, s, e, true)
                    .unwrap_or_else(|error| raise(state, NAME, error));
                ffi::lua_call(state, n, 1);
            }
            ffi::LUA_TTABLE => {
                push_capture(state, matcher, 0, s, e)
                    .unwrap_or_else(|error| raise(state, NAME, error));
                ffi::lua_gettable(state, 3);
            }
            _ => {
                add_string(state, b, matcher, s, e, repl);
                return true;
            }
        }
        if ffi::lua_toboolean(state, -1) == 0 {
            ffi::lua_pop(state, 1);
            add_bytes(b, &matcher.subject()[s..e]);
            false
        } else if ffi::lua_isstring(state, -1) == 0 {
            let type_name = CStr::from_ptr(ffi::luaL_typename(state, -1));
            let mut text = StackText::default();
            let _ = write!(
                text,
                "invalid replacement value (a {})",
                type_name.to_string_lossy()
            );
            raise_text(state, &mut text)
        } else {
            ffi::luaL_addvalue(b);
            true
        }
    }
}

/// Adds `repl` with its `%` escapes filled in: `%0` the whole match, `%1`–`%9` a capture
/// (`%1` the whole match when there are none), `%%` a `%`.
unsafe fn add_string(
    state: *mut ffi::lua_State,
    b: *mut ffi::luaL_Buffer,
    matcher: &Matcher,
    s: usize,
    e: usize,
    mut repl: &[u8],
) {
    let src = matcher.subject();
    unsafe {
        while let Some(at) = memchr::memchr(b'%', repl) {
            add_bytes(b, &repl[..at]);
            // Past the end, Lua reads the string's terminating NUL: a lone `%` is invalid.
            match repl.get(at + 1).copied().unwrap_or(0) {
                b'%' => add_bytes(b, b"%"),
                b'0' => add_bytes(b, &src[s..e]),
                digit @ b'1'..=b'9' => match matcher.capture(usize::from(digit - b'1'), s, e) {
                    Ok(Captured::Span(from, to)) => add_bytes(b, &src[from..to]),
                    Ok(Captured::Position(position)) => {
                        let mut text = StackText::default();
                        let _ = write!(text, "{position}");
                        add_bytes(b, text.as_bytes());
                    }
                    Err(error) => raise(state, NAME, error),
                },
                _ => {
                    let mut text = StackText::default();
                    let _ = text.write_str("invalid use of '%' in replacement string");
                    raise_text(state, &mut text)
                }
            }
            repl = &repl[at + 2..];
        }
        add_bytes(b, repl);
    }
}

unsafe fn add_bytes(b: *mut ffi::luaL_Buffer, bytes: &[u8]) {
    if !bytes.is_empty() {
        unsafe { ffi::luaL_addlstring(b, bytes.as_ptr() as *const c_char, bytes.len()) }
    }
}

/// Raises `luaL_typeerror`'s "bad argument #arg to 'f' (expected expected, got type)".
unsafe fn type_error(state: *mut ffi::lua_State, arg: c_int, expected: &CStr) -> ! {
    unsafe {
        let actual = if ffi::luaL_getmetafield(state, arg, c"__name".as_ptr()) == ffi::LUA_TSTRING {
            ffi::lua_tostring(state, -1)
        } else if ffi::lua_type(state, arg) == ffi::LUA_TLIGHTUSERDATA {
            c"light userdata".as_ptr()
        } else {
            ffi::luaL_typename(state, arg)
        };
        let message = ffi::lua_pushfstring(
            state,
            c"%s expected, got %s".as_ptr(),
            expected.as_ptr(),
            actual,
        );
        ffi::luaL_argerror(state, arg, message);
        std::hint::unreachable_unchecked()
    }
}
