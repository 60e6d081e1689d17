//! The WIT bindings, generated from `wit/` (wippy's published WIT): the `process` world for a
//! process, the `function` world for a function — one per build (the crate's features), since
//! a component carries the world of every binding linked into it. Public so that the
//! `process!` and `function!` macros can name them from the crate that uses this one.

#[cfg(feature = "process")]
pub mod process {
    wit_bindgen::generate!({
        world: "wippy:process/process",
        path: "wit/process",
        pub_export_macro: true,
        export_macro_name: "export_process",
        default_bindings_module: "wippy_guest::bindings::process",
    });
}

#[cfg(feature = "function")]
pub mod function {
    wit_bindgen::generate!({
        world: "wippy:runtime/function",
        path: "wit/runtime",
        pub_export_macro: true,
        export_macro_name: "export_function",
        default_bindings_module: "wippy_guest::bindings::function",
    });
}
