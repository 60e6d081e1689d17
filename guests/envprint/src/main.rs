//! Prints its arguments, environment and initial working directory, one per line, then
//! exits with the code given as `--exit=N` (through `wasi:cli/exit#exit-with-code`), or
//! fails with `--fail` (through `exit(err)`). A command component: it exports `wasi:cli/run`.

fn main() {
    let args: Vec<String> = std::env::args().collect();
    for (i, arg) in args.iter().enumerate() {
        println!("arg[{i}]={arg}");
    }
    let mut vars: Vec<(String, String)> = std::env::vars().collect();
    vars.sort();
    for (key, value) in vars {
        println!("env {key}={value}");
    }
    // Rust std's current_dir() does not consult wasi:cli; ask the interface itself.
    match wasip2::cli::environment::initial_cwd() {
        Some(dir) => println!("cwd={dir}"),
        None => println!("cwd unset"),
    }
    if let Some(code) = args.iter().find_map(|a| a.strip_prefix("--exit=")) {
        eprintln!("exiting with {code}");
        wasip2::cli::exit::exit_with_code(code.parse().unwrap_or(1));
    }
    if args.iter().any(|a| a == "--fail") {
        std::process::exit(1);
    }
}
