use wasmtime::component::types::ComponentFunc;
use wasmtime::component::wasm_wave::wasm::DisplayType;
use wasmtime::component::{Type, Val};

/// How a value is printed: a string as it is, anything else in WAVE.
pub fn render(value: &Val) -> String {
    match value {
        Val::String(text) => text.clone(),
        other => other
            .to_wave()
            .unwrap_or_else(|e| format!("<value cannot be shown in WAVE: {e}>")),
    }
}

pub fn type_name(ty: &Type) -> String {
    match ty {
        // WAVE has no syntax for handles; their resource's name is not in the type.
        Type::Own(_) => "own<resource>".to_string(),
        Type::Borrow(_) => "borrow<resource>".to_string(),
        _ => DisplayType(ty).to_string(),
    }
}

/// `name(a: u32, b: u32) -> u32`.
pub fn signature(name: &str, func: &ComponentFunc) -> String {
    let params: Vec<String> = func
        .params()
        .map(|(param, ty)| format!("{param}: {}", type_name(&ty)))
        .collect();
    let results: Vec<String> = func.results().map(|ty| type_name(&ty)).collect();
    let mut text = format!("{name}({})", params.join(", "));
    match results.as_slice() {
        [] => {}
        [one] => text.push_str(&format!(" -> {one}")),
        many => text.push_str(&format!(" -> ({})", many.join(", "))),
    }
    text
}
