//! Every kind of WIT value, typed from CLI text and printed back in WAVE, through the binary.

mod support;

use support::{HEADER, Project, wasm_entry, with_imports};

const FUNCS: &[&str] = &[
    "echo-bool",
    "echo-ints",
    "echo-floats",
    "echo-char",
    "echo-list",
    "echo-bytes",
    "echo-option",
    "echo-result",
    "echo-empty-result",
    "echo-variant",
    "echo-enum",
    "echo-flags",
    "echo-tuple",
    "echo-user",
    "echo-users",
    "area",
    "describe",
    "count-chars",
    "divide",
    "nothing",
    "crash",
];

fn values_project() -> Project {
    let project = Project::new();
    let hash = project.add_guest("values");
    let mut yaml = HEADER.to_string();
    for func in FUNCS {
        yaml += &wasm_entry(
            func,
            "values.wasm",
            &hash,
            &format!("kinds#{func}"),
            Some(func),
        );
    }
    // A panicking Rust guest reads its environment and writes to stderr: that takes wasi:cli.
    let crash = wasm_entry(
        "crash-with-cli",
        "values.wasm",
        &hash,
        "kinds#crash",
        Some("crash-with-cli"),
    );
    yaml += &with_imports(crash, &["wasi:cli"]);
    project.write("src/values.yaml", yaml);
    project
}

/// Runs `wippy run <func> <args>` and returns stdout without the trailing newline.
fn call(project: &Project, func: &str, args: &[&str]) -> String {
    let mut all = vec!["run", func];
    all.extend_from_slice(args);
    project.wippy(&all).ok().trim_end_matches('\n').to_string()
}

#[test]
fn scalars_round_trip() {
    let p = values_project();
    assert_eq!(call(&p, "echo-bool", &["true"]), "true");
    assert_eq!(call(&p, "echo-bool", &["false"]), "false");
    assert_eq!(call(&p, "echo-char", &["é"]), "'é'");
    assert_eq!(call(&p, "echo-char", &["'x'"]), "'x'");
    assert_eq!(call(&p, "echo-floats", &["1.5", "-2.25"]), "(1.5, -2.25)");
    assert_eq!(call(&p, "count-chars", &["héllo wörld"]), "11");
}

#[test]
fn every_integer_width_at_its_limits() {
    let p = values_project();
    let min =
        "{a: -128, b: 0, c: -32768, d: 0, e: -2147483648, f: 0, g: -9223372036854775808, h: 0}";
    let max = "{a: 127, b: 255, c: 32767, d: 65535, e: 2147483647, f: 4294967295, g: 9223372036854775807, h: 18446744073709551615}";
    assert_eq!(call(&p, "echo-ints", &[min]), min);
    assert_eq!(call(&p, "echo-ints", &[max]), max);
}

#[test]
fn out_of_range_integers_are_refused_with_the_signature() {
    let p = values_project();
    let too_big = "{a: 128, b: 0, c: 0, d: 0, e: 0, f: 0, g: 0, h: 0}";
    let err = p.wippy(&["run", "echo-ints", too_big]).failed().to_string();
    // The component type API is structural: types are shown by their shape.
    let ints = "record { a: s8, b: u8, c: s16, d: u16, e: s32, f: u32, g: s64, h: u64 }";
    assert!(err.contains(&format!("argument 1 (`v: {ints}`)")), "{err}");
    assert!(err.contains("invalid value at `128`"), "{err}");
    assert!(
        err.contains(&format!("Usage: echo-ints(v: {ints}) -> {ints}")),
        "{err}"
    );
}

#[test]
fn lists_and_bytes() {
    let p = values_project();
    assert_eq!(call(&p, "echo-list", &["[1, 2, 3]"]), "[1, 2, 3]");
    assert_eq!(call(&p, "echo-list", &["[]"]), "[]");
    assert_eq!(call(&p, "echo-bytes", &["[0, 255]"]), "[0, 255]");
}

#[test]
fn options_results_and_empty_results() {
    let p = values_project();
    assert_eq!(call(&p, "echo-option", &["some(\"x\")"]), "some(\"x\")");
    assert_eq!(call(&p, "echo-option", &["none"]), "none");
    // A top-level `result` prints its ok payload; an error arm is a failure.
    assert_eq!(call(&p, "echo-result", &["ok(7)"]), "7");
    assert_eq!(call(&p, "echo-empty-result", &["ok"]), "");
    let err = p.wippy(&["run", "echo-result", "err(\"bad input\")"]);
    assert_eq!(
        err.failed(),
        "error: `app:echo-result` returned an error: bad input\n"
    );
    assert_eq!(err.stdout, "");
    let empty = p.wippy(&["run", "echo-empty-result", "err"]);
    assert!(
        empty
            .failed()
            .contains("returned an error (with no details)"),
        "{empty:#?}"
    );
}

#[test]
fn variants_enums_and_flags() {
    let p = values_project();
    assert_eq!(call(&p, "echo-variant", &["circle(2.5)"]), "circle(2.5)");
    assert_eq!(call(&p, "echo-variant", &["rect((2, 3))"]), "rect((2, 3))");
    assert_eq!(call(&p, "echo-variant", &["point"]), "point");
    assert_eq!(call(&p, "area", &["rect((2, 3))"]), "6");
    assert_eq!(call(&p, "echo-enum", &["green"]), "green");
    assert_eq!(call(&p, "echo-flags", &["{read, exec}"]), "{read, exec}");
    assert_eq!(call(&p, "echo-flags", &["{}"]), "{}");
}

#[test]
fn tuples_and_records_nest() {
    let p = values_project();
    assert_eq!(
        call(&p, "echo-tuple", &["(\"a\", -5, true)"]),
        "(\"a\", -5, true)"
    );
    let user = "{name: \"Ada\", age: 36, tags: [\"math\", \"engines\"], favourite: some(blue), perms: {read, write}}";
    assert_eq!(call(&p, "echo-user", &[user]), user);
    assert_eq!(
        call(&p, "describe", &[user]),
        "Ada (36) likes blue and has 2 tags, can write: true"
    );
    // WAVE leaves out record fields whose option is `none`; either form is accepted.
    let bob = "{name: \"Bob\", age: 1, tags: [], perms: {}}";
    let users = format!("[{user}, {bob}]");
    assert_eq!(call(&p, "echo-users", &[&users]), users);
    let explicit = "{name: \"Bob\", age: 1, tags: [], favourite: none, perms: {}}";
    assert_eq!(call(&p, "echo-user", &[explicit]), bob);
}

#[test]
fn a_function_without_results_prints_nothing() {
    let p = values_project();
    assert_eq!(p.wippy(&["run", "nothing"]).ok(), "");
}

#[test]
fn a_result_error_arm_exits_1() {
    let p = values_project();
    assert_eq!(call(&p, "divide", &["7", "2"]), "3");
    let err = p.wippy(&["run", "divide", "1", "0"]);
    assert_eq!(
        err.failed(),
        "error: `app:divide` returned an error: division by zero\n"
    );
}

#[test]
fn a_trap_is_an_error_not_a_crash() {
    let p = values_project();
    let run = p.wippy(&["run", "crash-with-cli", "boom"]);
    let err = run.failed();
    assert!(
        err.starts_with("error: `app:crash-with-cli` failed: the guest trapped: wasm `unreachable` instruction executed"),
        "{run:#?}"
    );
    assert!(
        err.contains("(in values::"),
        "the guest frame is named: {run:#?}"
    );
    // The guest's own panic message reaches the terminal through its stderr.
    assert!(run.stderr.contains("boom"), "{run:#?}");
    // Without wasi:cli the panic handler itself is stopped, and says what to grant.
    let run = p.wippy(&["run", "crash", "boom"]);
    assert!(
        run.failed().contains(
            "`app:crash` failed: it called `wasi:cli/environment@0.2.6#get-environment`, but entry `app:crash` does not grant `wasi:cli`"
        ),
        "{run:#?}"
    );
}

#[test]
fn compound_values_must_be_wave() {
    let p = values_project();
    let err = p
        .wippy(&["run", "echo-enum", "purple"])
        .failed()
        .to_string();
    assert!(err.contains("`purple` is not a valid enum { red, green, blue }: expected one of `red`, `green`, `blue`."), "{err}");
    let err = p
        .wippy(&["run", "echo-user", "{name: \"x\"}"])
        .failed()
        .to_string();
    assert!(err.contains("expected a WAVE record such as `{name: ..., age: ..., tags: ..., favourite: ..., perms: ...}`"), "{err}");
}
