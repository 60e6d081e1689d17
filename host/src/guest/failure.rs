//! Why a guest failed, in words for people: the limit it hit (named, with the setting to
//! change), or the trap and where in the guest's own code it happened.

use wasmtime::{Trap, WasmBacktrace};

use super::limits::{self, DEFAULT_MAX_OPEN_HANDLES, MemoryLimiter};
use crate::registry::{EntryId, Limits};

/// Why a guest failed: a limit it hit (named, with the setting to change), or the trap.
pub fn describe_failure(
    id: &EntryId,
    memory: &MemoryLimiter,
    limits: &Limits,
    error: &wasmtime::Error,
) -> String {
    // Checked before memory: a refused growth is remembered even when the guest coped with
    // it, while a full resource table is always what ended this call.
    if limits::ran_out_of_handles(error) {
        let held = (limits.max_open_handles)
            .map_or(DEFAULT_MAX_OPEN_HANDLES.to_string(), |n| n.to_string());
        return format!(
            "`{id}` failed: it already held {held} open handles (files, directories, sockets, streams and the like), its limit (limits.max_open_handles), and asked for another{}; close handles it no longer needs, or raise the limit",
            where_in_guest(error)
        );
    }
    if let Some(asked) = memory.refused {
        return format!(
            "`{id}` failed: it needed {asked} bytes of memory (all its memories and tables together), over its limit of {} bytes (limits.max_memory_bytes); {}",
            memory.max_bytes(),
            describe_wasmtime_error(error)
        );
    }
    match error.downcast_ref::<Trap>() {
        Some(Trap::OutOfFuel) => format!(
            "`{id}` failed: it ran out of fuel after {} units (limits.max_fuel)",
            limits.max_fuel.unwrap_or(u64::MAX)
        ),
        Some(Trap::StackOverflow) => {
            format!("`{id}` failed: the guest overflowed its stack (too deep a recursion)")
        }
        _ => format!("`{id}` failed: {}", describe_wasmtime_error(error)),
    }
}

/// One line for a wasmtime error: the trap or root cause, then where in the guest it happened.
pub fn describe_wasmtime_error(error: &wasmtime::Error) -> String {
    let mut text = match error.downcast_ref::<Trap>() {
        Some(trap) => {
            let trap = trap.to_string();
            format!(
                "the guest trapped: {}",
                trap.strip_prefix("wasm trap: ").unwrap_or(&trap)
            )
        }
        None => error
            .chain()
            .map(|cause| cause.to_string())
            .filter(|s| !s.starts_with("error while executing at wasm backtrace"))
            .collect::<Vec<_>>()
            .join(": "),
    };
    text.push_str(&where_in_guest(error));
    text
}

/// ` (in f ← g ← h)`: the guest's innermost named frames when the error happened, or nothing.
fn where_in_guest(error: &wasmtime::Error) -> String {
    let Some(backtrace) = error.downcast_ref::<WasmBacktrace>() else {
        return String::new();
    };
    let frames: Vec<String> = backtrace
        .frames()
        .iter()
        .filter_map(|frame| frame.func_name())
        .map(|name| format!("{:#}", rustc_demangle::demangle(name)))
        .filter(|name| !is_runtime_frame(name))
        .take(3)
        .collect();
    match frames.is_empty() {
        true => String::new(),
        false => format!(" (in {})", frames.join(" ← ")),
    }
}

/// Frames of the guest language's own panic and abort machinery, which say nothing about
/// where the guest's code failed.
fn is_runtime_frame(name: &str) -> bool {
    const RUNTIME: &[&str] = &[
        "std::",
        "core::",
        "alloc::",
        "__rust",
        "rust_panic",
        "abort",
        "panic_abort::",
    ];
    RUNTIME.iter().any(|prefix| name.starts_with(prefix))
}
