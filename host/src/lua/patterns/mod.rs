//! `string.find`, `string.match`, `string.gmatch` and `string.gsub` with a step budget.
//!
//! Lua's own pattern functions run in C and cannot be interrupted: the preemption in
//! [`super::preempt`] acts between VM instructions, and `terminate` cannot stop a thread
//! stuck in C, so `string.find(string.rep("a", 20000), ".-.-.-.-.-.-b")` would pin a worker
//! thread for hours. These replace them in every state: the same patterns with the same
//! results and errors (see [`matcher`]), but a call that takes more steps than
//! [`budget`] allows stops with an error that says so.
//!
//! They are C functions (`lua_CFunction`) rather than mlua callbacks, for two reasons: their
//! errors must be Lua strings raised by `luaL_error`, as the originals' are (a script may
//! `err:match(...)` them), and argument handling is `lauxlib`'s own (`luaL_checklstring`
//! turns numbers into strings and words "bad argument" errors exactly as Lua does). Lua
//! raises errors with `longjmp`, so nothing alive on these functions' Rust frames has a
//! destructor: the matcher holds slices, text is gathered in Lua's own `luaL_Buffer`.

mod classes;
mod matcher;
mod replace;
#[cfg(test)]
mod tests;

use std::ffi::{c_char, c_int};
use std::fmt::Write;
use std::panic::{AssertUnwindSafe, catch_unwind};

use mlua::{Lua, Table, ffi};

use matcher::{Captured, Matcher, PatternError};

/// Steps every call may take, whatever its subject: a few tenths of a second.
const BASE_STEPS: u64 = 100_000_000;
/// Steps a call may take for each byte of its subject, so that a pattern doing a bounded
/// amount of work per byte never runs out on a long subject: everyday patterns take 1 to
/// 15 (see the test `everyday_patterns_take_few_steps_per_byte`).
const STEPS_PER_BYTE: u64 = 100;
/// The most any call may take, whatever its subject (reached from 9 MiB on): a few seconds.
const MAX_STEPS: u64 = 1_000_000_000;

/// The steps a call on a subject of `len` bytes may take.
pub fn budget(len: usize) -> u64 {
    (BASE_STEPS.saturating_add(STEPS_PER_BYTE.saturating_mul(len as u64))).min(MAX_STEPS)
}

/// Puts the four functions in the state's `string` table (and so on strings, whose
/// metatable's `__index` is that table). Must run before anything copies them — the error
/// objects wrap them on first use (see `errors_module`) — so `new_state` calls it first.
pub fn install(lua: &Lua) -> mlua::Result<()> {
    let string: Table = lua.globals().get("string")?;
    // SAFETY: the functions follow the Lua C API's rules for C functions (stack use,
    // errors by `lua_error` only with nothing on their frames to drop).
    unsafe {
        string.set("find", lua.create_c_function(find)?)?;
        string.set("match", lua.create_c_function(str_match)?)?;
        string.set("gmatch", lua.create_c_function(gmatch)?)?;
        string.set("gsub", lua.create_c_function(replace::gsub)?)?;
    }
    Ok(())
}

/// `string.find(s, pattern [, init [, plain]])`.
unsafe extern "C-unwind" fn find(state: *mut ffi::lua_State) -> c_int {
    unsafe { find_or_match(state, true) }
}

/// `string.match(s, pattern [, init])`.
unsafe extern "C-unwind" fn str_match(state: *mut ffi::lua_State) -> c_int {
    unsafe { find_or_match(state, false) }
}

unsafe fn find_or_match(state: *mut ffi::lua_State, find: bool) -> c_int {
    unsafe {
        let src = arg_bytes(state, 1);
        let pat = arg_bytes(state, 2);
        let init = start_of(ffi::luaL_optinteger(state, 3, 1), src.len());
        if init > src.len() {
            ffi::lua_pushnil(state);
            return 1;
        }
        if find && (ffi::lua_toboolean(state, 4) != 0 || !has_specials(pat)) {
            // A plain search: a substring search, as fast as the C one.
            let found = match pat.is_empty() {
                true => Some(0),
                false => memchr::memmem::find(&src[init..], pat),
            };
            return match found {
                Some(at) => {
                    push_position(state, init + at + 1);
                    push_position(state, init + at + pat.len());
                    2
                }
                None => {
                    ffi::lua_pushnil(state);
                    1
                }
            };
        }
        let name = if find { "string.find" } else { "string.match" };
        let (anchored, pat) = strip_anchor(pat);
        let mut matcher = Matcher::new(src, pat, budget(src.len()));
        let found = guarded(|| matcher.next_match(init, usize::MAX, anchored))
            .unwrap_or_else(|e| raise(state, name, e));
        match found {
            None => {
                ffi::lua_pushnil(state);
                1
            }
            Some((start, end)) if find => {
                push_position(state, start + 1);
                push_position(state, end);
                2 + push_captures(state, &matcher, start, end, false)
                    .unwrap_or_else(|e| raise(state, name, e))
            }
            Some((start, end)) => push_captures(state, &matcher, start, end, true)
                .unwrap_or_else(|e| raise(state, name, e)),
        }
    }
}

/// Where a `gmatch` iteration goes on; lives in a userdata, an upvalue of the iterator.
#[repr(C)]
struct GmatchState {
    /// The subject position to try first.
    next: usize,
    /// Where the previous match ended (`usize::MAX` before the first): an empty match there
    /// is skipped, as in Lua 5.4.
    last_end: usize,
}

/// `string.gmatch(s, pattern [, init])`: an iterator over the matches. A `^` is a plain byte
/// here, as in Lua 5.4 (an anchor would stop the iteration).
unsafe extern "C-unwind" fn gmatch(state: *mut ffi::lua_State) -> c_int {
    unsafe {
        let src = arg_bytes(state, 1);
        arg_bytes(state, 2);
        let init = start_of(ffi::luaL_optinteger(state, 3, 1), src.len()).min(src.len() + 1);
        // The iterator keeps the subject and the pattern as upvalues, which keeps them alive.
        ffi::lua_settop(state, 2);
        let gm = ffi::lua_newuserdatauv(state, size_of::<GmatchState>(), 0) as *mut GmatchState;
        gm.write(GmatchState {
            next: init,
            last_end: usize::MAX,
        });
        ffi::lua_pushcclosure(state, gmatch_step, 3);
        1
    }
}

unsafe extern "C-unwind" fn gmatch_step(state: *mut ffi::lua_State) -> c_int {
    unsafe {
        let src = bytes_at(state, ffi::lua_upvalueindex(1));
        let pat = bytes_at(state, ffi::lua_upvalueindex(2));
        let gm = &mut *(ffi::lua_touserdata(state, ffi::lua_upvalueindex(3)) as *mut GmatchState);
        let name = "string.gmatch";
        let mut matcher = Matcher::new(src, pat, budget(src.len()));
        let (next, last_end) = (gm.next, gm.last_end);
        let found = guarded(|| matcher.next_match(next, last_end, false))
            .unwrap_or_else(|e| raise(state, name, e));
        match found {
            Some((start, end)) => {
                gm.next = end;
                gm.last_end = end;
                push_captures(state, &matcher, start, end, true)
                    .unwrap_or_else(|e| raise(state, name, e))
            }
            None => {
                gm.next = src.len() + 1;
                0
            }
        }
    }
}

/// Argument `arg` as bytes, converting a number in place as `luaL_checklstring` does.
///
/// # Safety
/// The slice lives as long as the value stays at `arg`, which is the whole call.
unsafe fn arg_bytes<'a>(state: *mut ffi::lua_State, arg: c_int) -> &'a [u8] {
    unsafe {
        let mut len = 0;
        let ptr = ffi::luaL_checklstring(state, arg, &mut len);
        std::slice::from_raw_parts(ptr as *const u8, len)
    }
}

/// The string at `index` (known to be one) as bytes; the same lifetime rule as
/// [`arg_bytes`].
unsafe fn bytes_at<'a>(state: *mut ffi::lua_State, index: c_int) -> &'a [u8] {
    unsafe {
        let mut len = 0;
        let ptr = ffi::lua_tolstring(state, index, &mut len);
        std::slice::from_raw_parts(ptr as *const u8, len)
    }
}

/// A 1-based `init` argument as a 0-based offset, by Lua 5.4's rules: negative counts from
/// the end, 0 and anything before the start mean the start; the result may lie past the end.
fn start_of(init: ffi::lua_Integer, len: usize) -> usize {
    match init {
        1.. => (init - 1) as usize,
        0 => 0,
        _ => len.saturating_sub(init.unsigned_abs() as usize),
    }
}

/// Whether the pattern needs the matcher; without any of these bytes it is a plain string.
fn has_specials(pat: &[u8]) -> bool {
    pat.iter().any(|b| b"^$*+?.([%-".contains(b))
}

/// A leading `^` anchors the match at the start position.
fn strip_anchor(pat: &[u8]) -> (bool, &[u8]) {
    match pat.split_first() {
        Some((b'^', rest)) => (true, rest),
        _ => (false, pat),
    }
}

unsafe fn push_position(state: *mut ffi::lua_State, position: usize) {
    unsafe { ffi::lua_pushinteger(state, position as ffi::lua_Integer) }
}

/// Pushes capture `i` of the match `start..end`.
unsafe fn push_capture(
    state: *mut ffi::lua_State,
    matcher: &Matcher,
    i: usize,
    start: usize,
    end: usize,
) -> Result<(), PatternError> {
    let src = matcher.subject();
    unsafe {
        match matcher.capture(i, start, end)? {
            Captured::Span(from, to) => {
                ffi::lua_pushlstring(state, src[from..].as_ptr() as *const c_char, to - from);
            }
            Captured::Position(position) => push_position(state, position),
        }
    }
    Ok(())
}

/// Pushes the match's captures (or, with none and `whole`, the match itself); returns how
/// many.
unsafe fn push_captures(
    state: *mut ffi::lua_State,
    matcher: &Matcher,
    start: usize,
    end: usize,
    whole: bool,
) -> Result<c_int, PatternError> {
    let count = matcher.capture_count(whole);
    unsafe {
        ffi::luaL_checkstack(state, count as c_int, c"too many captures".as_ptr());
        for i in 0..count {
            push_capture(state, matcher, i, start, end)?;
        }
    }
    Ok(count as c_int)
}

/// Runs matcher code, turning a panic (a bug) into an error rather than unwinding through
/// Lua's C frames.
fn guarded<T>(f: impl FnOnce() -> Result<T, PatternError>) -> Result<T, PatternError> {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or(Err(PatternError::Internal))
}

/// Raises `error` as a Lua error, as `luaL_error` would. The text is built on the stack:
/// nothing on the way out may need dropping.
unsafe fn raise(state: *mut ffi::lua_State, function: &str, error: PatternError) -> ! {
    let mut text = StackText::default();
    let _ = error.write(&mut text, function);
    unsafe { raise_text(state, &mut text) }
}

unsafe fn raise_text(state: *mut ffi::lua_State, text: &mut StackText) -> ! {
    let bytes = text.terminated();
    unsafe {
        ffi::luaL_error(state, c"%s".as_ptr(), bytes.as_ptr() as *const c_char);
        std::hint::unreachable_unchecked()
    }
}

/// An error message of up to 255 bytes, without the heap.
struct StackText {
    bytes: [u8; 256],
    len: usize,
}

impl Default for StackText {
    fn default() -> Self {
        Self {
            bytes: [0; 256],
            len: 0,
        }
    }
}

impl StackText {
    fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }

    /// The text with a NUL after it.
    fn terminated(&mut self) -> &[u8] {
        self.bytes[self.len] = 0;
        &self.bytes[..=self.len]
    }
}

impl Write for StackText {
    fn write_str(&mut self, text: &str) -> std::fmt::Result {
        let room = self.bytes.len() - 1 - self.len;
        let take = text.len().min(room);
        let text = text.as_bytes()[..take]
            .iter()
            .map(|&b| if b == 0 { b'?' } else { b });
        for (slot, byte) in self.bytes[self.len..].iter_mut().zip(text) {
            *slot = byte;
        }
        self.len += take;
        Ok(())
    }
}
