//! Per-entry capability grants, wasi args/env/cwd/mounts, stdio, exit codes, HTTP and TCP,
//! through the built binary against guests built from guests/.

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;

use support::{HEADER, Project, wasm_entry, with_imports};

/// The prober guest under one entry per (name, method, imports).
fn prober_project(entries: &[(&str, &str, &[&str])]) -> Project {
    let project = Project::new();
    let hash = project.add_guest("prober");
    let mut yaml = HEADER.to_string();
    for (name, method, imports) in entries {
        let entry = wasm_entry(name, "prober.wasm", &hash, method, Some(name));
        yaml += &if imports.is_empty() {
            entry
        } else {
            with_imports(entry, imports)
        };
    }
    project.write("src/app.yaml", yaml);
    project
}

/// The start of the message a call to an ungranted import ends the process with.
fn denial(project: &Project, entry: &str, called: &str, group: &str) -> String {
    let yaml = std::fs::read_to_string(project.root().join("src/app.yaml")).unwrap();
    let line = yaml
        .lines()
        .position(|l| l == format!("  - name: {entry}"))
        .unwrap()
        + 1;
    let file = project.root().join("src/app.yaml");
    format!(
        "error: `app:{entry}` failed: it called `{called}`, but entry `app:{entry}` does not grant `{group}`. Grant it in {}:{line} with `imports: [{group}]`",
        file.display()
    )
}

#[test]
fn each_group_granted_works_and_not_granted_fails_with_the_grant_to_add() {
    let cases: &[(&str, &str, &str, &[&str])] = &[
        (
            "wall-clock-seconds",
            "wasi:clocks/wall-clock@0.2.12#now",
            "wasi:clocks",
            &[],
        ),
        (
            "monotonic-now",
            "wasi:clocks/monotonic-clock@0.2.12#now",
            "wasi:clocks",
            &[],
        ),
        (
            "random-u64",
            "wasi:random/random@0.2.12#get-random-u64",
            "wasi:random",
            &[],
        ),
        (
            "arguments",
            "wasi:cli/environment@0.2.12#get-arguments",
            "wasi:cli",
            &[],
        ),
        (
            "preopens",
            "wasi:filesystem/preopens@0.2.12#get-directories",
            "wasi:filesystem",
            &[],
        ),
        (
            "tcp-socket",
            "wasi:sockets/tcp-create-socket@0.2.12#create-tcp-socket",
            "wasi:sockets",
            &[],
        ),
        (
            "http-fields",
            "wasi:http/types@0.2.12#[constructor]fields",
            "wasi:http",
            &[],
        ),
        (
            "print",
            "wasi:cli/stdout@0.2.12#get-stdout",
            "wasi:cli",
            &["hi"],
        ),
    ];
    let mut entries = Vec::new();
    let granted: Vec<String> = cases.iter().map(|(m, ..)| format!("{m}-granted")).collect();
    let denied: Vec<String> = cases.iter().map(|(m, ..)| format!("{m}-denied")).collect();
    let groups: Vec<[&str; 1]> = cases.iter().map(|(_, _, g, _)| [*g]).collect();
    for (i, (method, ..)) in cases.iter().enumerate() {
        entries.push((granted[i].as_str(), *method, &groups[i][..]));
        entries.push((denied[i].as_str(), *method, &[][..]));
    }
    let project = prober_project(&entries);
    for (i, (method, called, group, args)) in cases.iter().enumerate() {
        let mut ok_args = vec!["run", granted[i].as_str()];
        ok_args.extend_from_slice(args);
        let ok = project.wippy(&ok_args);
        assert_eq!(ok.code, Some(0), "{method} with {group}: {ok:#?}");

        let mut denied_args = vec!["run", denied[i].as_str()];
        denied_args.extend_from_slice(args);
        let run = project.wippy(&denied_args);
        let expected = denial(&project, &denied[i], called, group);
        assert!(
            run.failed().starts_with(&expected),
            "{method} without {group}:\nexpected: {expected}\n{run:#?}"
        );
    }
    // What the granted ones returned is real.
    let seconds: u64 = project
        .wippy(&["run", "wall-clock-seconds-granted"])
        .ok()
        .trim()
        .parse()
        .unwrap();
    assert!(seconds > 1_700_000_000, "{seconds}");
    let a = project
        .wippy(&["run", "random-u64-granted"])
        .ok()
        .to_string();
    let b = project
        .wippy(&["run", "random-u64-granted"])
        .ok()
        .to_string();
    assert_ne!(a, b);
    assert_eq!(
        project.wippy(&["run", "print-granted", "hello there"]).ok(),
        "hello there\n"
    );
    assert_eq!(project.wippy(&["run", "tcp-socket-granted"]).ok(), "");
}

#[test]
fn one_entrys_grant_never_reaches_another_using_the_same_component() {
    let project = prober_project(&[
        ("a", "random-u64", &["wasi:random"]),
        ("b", "random-u64", &[]),
    ]);
    // Both entries load from the same file, so their compiled component is shared (one cache
    // file) while their linkers are not.
    project.wippy(&["run", "a"]).ok();
    let run = project.wippy(&["run", "b"]);
    assert!(run.failed().starts_with(&denial(
        &project,
        "b",
        "wasi:random/random@0.2.12#get-random-u64",
        "wasi:random"
    )));
    let check = project.wippy(&["check"]);
    let out = check.ok();
    let a = out.split("ok  app:b").next().unwrap();
    assert!(a.contains("granted: wasi:random/random@0.2.12"), "{out}");
    let b = out.split("ok  app:b").nth(1).unwrap();
    assert!(
        b.contains("note: not granted (calls fail):") && b.contains("wasi:random ("),
        "{out}"
    );
    assert!(!b.contains("    granted: wasi:random"), "{out}");
}

#[test]
fn a_rust_std_component_runs_pure_functions_with_no_grant_and_check_lists_its_gaps() {
    let project = Project::new();
    let hash = project.add_guest("hello");
    project.write(
        "src/app.yaml",
        HEADER.to_string() + &wasm_entry("greet", "hello.wasm", &hash, "greet", Some("greet")),
    );
    assert_eq!(
        project.wippy(&["run", "greet", "nobody"]).ok(),
        "Hello, nobody!\n"
    );
    // At a glance: how many interfaces of each group, not the Rust std boilerplate itself.
    let check = project.wippy(&["check"]);
    let out = check.ok();
    assert!(
        out.contains("    note: not granted (calls fail): wasi:cli (10 interfaces), wasi:io (2), wasi:poll (1); grant with `imports: [wasi:cli, wasi:io, wasi:poll]`; `wippy check -v` lists them"),
        "{out}"
    );
    assert!(!out.contains("wasi:cli/exit@0.2.6"), "{out}");
    // `-v` lists them.
    let out = project.wippy(&["check", "-v"]).ok().to_string();
    for import in [
        "wasi:cli/environment@0.2.6",
        "wasi:cli/exit@0.2.6",
        "wasi:cli/stderr@0.2.6",
        "wasi:io/streams@0.2.6",
    ] {
        assert!(out.contains(import), "{import} missing from {out}");
    }
    assert!(
        out.contains("grant with `imports: [wasi:cli, wasi:io, wasi:poll]`"),
        "{out}"
    );
}

#[test]
fn unknown_capability_is_a_load_error() {
    let project = prober_project(&[("x", "random-u64", &["wasi:random", "wasi:htp"])]);
    let err = project.wippy(&["check"]).failed().to_string();
    assert!(err.contains("entry `app:x`, field `imports`: unknown capability `wasi:htp`; did you mean `wasi:http`? the groups are wasi:io, wasi:poll, wasi:clocks, wasi:cli, wasi:filesystem, wasi:random, wasi:sockets, wasi:http"), "{err}");
}

/// The env printer (a command component) with `extra` YAML under its entry.
fn envprint_project(extra: &str) -> Project {
    let project = Project::new();
    let hash = project.add_guest("envprint");
    let mut yaml = format!(
        "{HEADER}  - {{name: os, kind: env.storage.os}}\n  - {{name: fixed, kind: env.storage.static, values: {{GREETING: hello}}}}\n  - {{name: greeting, kind: env.variable, storage: fixed, variable: GREETING}}\n  - {{name: token, kind: env.variable, storage: os, variable: WIPPY_TEST_TOKEN}}\n  - {{name: level, kind: env.variable, storage: os, variable: WIPPY_TEST_UNSET_LEVEL, default: info}}\n  - {{name: missing, kind: env.variable, storage: os, variable: WIPPY_TEST_NEVER_SET}}\n"
    );
    yaml += &with_imports(
        wasm_entry(
            "env",
            "envprint.wasm",
            &hash,
            "wasi:cli/run#run",
            Some("env"),
        ),
        &["wasi:cli"],
    );
    yaml += extra;
    project.write("src/app.yaml", yaml);
    project
}

#[test]
fn a_command_component_gets_cli_arguments_and_exit_codes() {
    let project = envprint_project("");
    let out = project.wippy(&["run", "env", "one", "two words"]);
    assert_eq!(
        out.ok(),
        "arg[0]=app:env\narg[1]=one\narg[2]=two words\ncwd unset\n"
    );
    let exit = project.wippy(&["run", "env", "--exit=3"]);
    assert_eq!(exit.code, Some(3), "{exit:#?}");
    assert!(exit.stderr.contains("exiting with 3"), "{exit:#?}");
    assert_eq!(project.wippy(&["run", "env", "--exit=0"]).code, Some(0));
    // exit(err) from Rust std's process::exit(1).
    let fail = project.wippy(&["run", "env", "--fail"]);
    assert_eq!(fail.code, Some(1), "{fail:#?}");
}

#[test]
fn wasi_args_env_and_cwd_come_from_the_entry() {
    let project = envprint_project(
        "    wasi:\n      args: [fixed, args]\n      cwd: /work\n      env:\n        - {id: greeting}\n        - {id: token, name: TOKEN, required: true}\n        - {id: level, name: LEVEL}\n        - {id: missing, name: OPTIONAL}\n",
    );
    let out = support::wippy_in_env(
        &project,
        &["run", "env", "ignored"],
        &[("WIPPY_TEST_TOKEN", "s3cret")],
    );
    assert_eq!(
        out.ok(),
        "arg[0]=app:env\narg[1]=fixed\narg[2]=args\nenv GREETING=hello\nenv LEVEL=info\nenv TOKEN=s3cret\ncwd=/work\n"
    );
}

#[test]
fn a_missing_required_variable_fails_the_process_and_names_it() {
    let project = envprint_project(
        "    wasi:\n      env:\n        - {id: token, name: TOKEN, required: true}\n",
    );
    let err = project.wippy(&["run", "env"]).failed().to_string();
    assert_eq!(
        err,
        "error: `app:env` cannot start: required environment variable `TOKEN` (from `app:token`) has no value: `WIPPY_TEST_TOKEN` is not set in the runtime's environment. Fix: set WIPPY_TEST_TOKEN, or give `app:token` a `default`\n"
    );
}

#[test]
fn guest_paths_must_be_absolute_and_unique() {
    let project = envprint_project("    wasi:\n      cwd: work\n");
    assert!(
        project
            .wippy(&["check"])
            .failed()
            .contains("field `wasi.cwd`: `work` is not an absolute path")
    );
    let project = envprint_project(
        "    wasi:\n      mounts: [{fs: wasm, guest: /a}, {fs: wasm, guest: /a}]\n",
    );
    let err = project.wippy(&["check"]).failed().to_string();
    assert!(
        err.contains("field `wasi.mounts[1].guest`: `/a` is already mounted by wasi.mounts[0]"),
        "{err}"
    );
}

/// The file processor with an input folder mounted read-only at /in and an output at /out.
fn files_project() -> Project {
    let project = Project::new();
    let hash = project.add_guest("files");
    project.write("data/in/numbers.csv", "1,2,3\n4.5, 5.5\n\n10\n");
    project.write("data/out/.keep", "");
    project.write("secret.txt", "do not read");
    let mut yaml = format!(
        "{HEADER}  - {{name: in, kind: fs.directory, directory: data/in}}\n  - {{name: out, kind: fs.directory, directory: data/out}}\n"
    );
    let mounts = "    wasi:\n      mounts: [{fs: in, guest: /in, read_only: true}, {fs: out, guest: /out}]\n";
    for (name, method) in [
        ("sum", "sum-rows"),
        ("read", "read-text"),
        ("write", "write-text"),
    ] {
        yaml += &with_imports(
            wasm_entry(name, "files.wasm", &hash, method, Some(name)),
            &["wasi:cli", "wasi:filesystem"],
        );
        yaml += mounts;
    }
    project.write("src/app.yaml", yaml);
    project
}

#[test]
fn a_csv_from_a_read_only_mount_is_summed_into_a_writable_one() {
    let project = files_project();
    assert_eq!(
        project
            .wippy(&["run", "sum", "/in/numbers.csv", "/out/sums.txt"])
            .ok(),
        "3\n"
    );
    assert_eq!(
        std::fs::read_to_string(project.root().join("data/out/sums.txt")).unwrap(),
        "6\n10\n10\n"
    );
}

#[test]
fn writing_to_a_read_only_mount_fails_and_leaves_the_file_untouched() {
    let project = files_project();
    let err = project
        .wippy(&["run", "write", "/in/numbers.csv", "overwritten"])
        .failed()
        .to_string();
    assert_eq!(
        err,
        "error: `app:write` returned an error: cannot write /in/numbers.csv: Operation not permitted (os error 63)\n"
    );
    assert_eq!(
        std::fs::read_to_string(project.root().join("data/in/numbers.csv")).unwrap(),
        "1,2,3\n4.5, 5.5\n\n10\n"
    );
    let err = project
        .wippy(&["run", "sum", "/in/numbers.csv", "/in/sums.txt"])
        .failed()
        .to_string();
    assert!(
        err.contains("cannot write /in/sums.txt: Operation not permitted"),
        "{err}"
    );
    assert!(!project.root().join("data/in/sums.txt").exists());
}

#[test]
fn dotdot_and_symlink_escapes_out_of_a_mount_are_refused() {
    let project = files_project();
    let err = project
        .wippy(&["run", "read", "/in/../../secret.txt"])
        .failed()
        .to_string();
    assert!(
        err.starts_with("error: `app:read` returned an error: cannot read /in/../../secret.txt:"),
        "{err}"
    );
    std::os::unix::fs::symlink(
        project.root().join("secret.txt"),
        project.root().join("data/in/link.txt"),
    )
    .unwrap();
    let err = project
        .wippy(&["run", "read", "/in/link.txt"])
        .failed()
        .to_string();
    assert!(
        err.starts_with("error: `app:read` returned an error: cannot read /in/link.txt:"),
        "{err}"
    );
    assert!(!err.contains("do not read"));
    // Inside the mount, reading works.
    assert_eq!(
        project.wippy(&["run", "read", "/in/numbers.csv"]).ok(),
        "1,2,3\n4.5, 5.5\n\n10\n\n"
    );
}

#[test]
fn without_wasi_filesystem_the_mounts_are_out_of_reach() {
    let project = prober_project(&[("pre", "preopens", &["wasi:cli"])]);
    let run = project.wippy(&["run", "pre"]);
    assert!(
        run.failed().contains("does not grant `wasi:filesystem`"),
        "{run:#?}"
    );
}

#[test]
fn the_terminal_host_gives_the_guest_the_real_stdin() {
    let project = prober_project(&[("stdin", "read-stdin", &["wasi:cli"])]);
    let out = support::wippy_with_stdin(&project, &["run", "stdin"], b"piped text\nsecond line\n");
    assert_eq!(out.ok(), "piped text\nsecond line\n\n");
}

/// A one-request HTTP/1.1 server on 127.0.0.1 that answers `body` (or never answers).
fn http_server(body: Option<&'static str>) -> (String, std::thread::JoinHandle<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap().to_string();
    let handle = std::thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        let mut reader = BufReader::new(stream);
        let mut request = String::new();
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap() == 0 || line == "\r\n" {
                break;
            }
            request.push_str(&line);
        }
        match body {
            Some(body) => {
                let mut stream = reader.into_inner();
                write!(
                    stream,
                    "HTTP/1.1 200 OK\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                )
                .unwrap();
            }
            None => {
                // Hold the connection open without answering until the client gives up.
                let _ = reader.read_to_end(&mut Vec::new());
            }
        }
        request
    });
    (address, handle)
}

fn http_project(extra: &str, imports: &[&str]) -> Project {
    let project = Project::new();
    let hash = project.add_guest("http_client");
    let entry = wasm_entry("get", "http_client.wasm", &hash, "get", Some("get"));
    let entry = if imports.is_empty() {
        entry
    } else {
        with_imports(entry, imports)
    };
    project.write("src/app.yaml", format!("{HEADER}{entry}{extra}"));
    project
}

#[test]
fn http_get_against_a_real_server() {
    let (address, server) = http_server(Some("hello from the server"));
    let project = http_project("", &["wasi:http"]);
    let out = project.wippy(&["run", "get", &format!("http://{address}/path?q=1")]);
    assert_eq!(out.ok(), "200 hello from the server\n");
    let request = server.join().unwrap();
    assert!(
        request.starts_with("GET /path?q=1 HTTP/1.1\r\n"),
        "{request}"
    );
    assert!(
        request.to_lowercase().contains(&format!("host: {address}")),
        "{request}"
    );
}

#[test]
fn http_without_the_grant_is_refused_before_anything_is_sent() {
    let project = http_project("", &[]);
    let run = project.wippy(&["run", "get", "http://127.0.0.1:9/"]);
    let expected = denial(
        &project,
        "get",
        "wasi:http/types@0.2.12#[constructor]fields",
        "wasi:http",
    );
    assert!(
        run.failed().starts_with(&expected),
        "expected: {expected}\n{run:#?}"
    );
}

#[test]
fn the_entry_sets_the_http_timeout() {
    let (address, _server) = http_server(None);
    let project = http_project("    wasi:\n      http: {timeout_ms: 300}\n", &["wasi:http"]);
    let err = project
        .wippy(&["run", "get", &format!("http://{address}/slow")])
        .failed()
        .to_string();
    assert_eq!(
        err,
        "error: `app:get` returned an error: request failed: ErrorCode::ConnectionReadTimeout\n"
    );
}

#[test]
fn tcp_against_a_real_server() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap().to_string();
    let server = std::thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        let mut stream = stream;
        writeln!(stream, "echo: {}", line.trim_end()).unwrap();
    });
    let project = Project::new();
    let hash = project.add_guest("tcp_client");
    let entry = wasm_entry("tcp", "tcp_client.wasm", &hash, "request", Some("tcp"));
    let denied = wasm_entry(
        "tcp-denied",
        "tcp_client.wasm",
        &hash,
        "request",
        Some("tcp-denied"),
    );
    project.write(
        "src/app.yaml",
        format!(
            "{HEADER}{}{}",
            with_imports(entry, &["wasi:sockets", "wasi:cli"]),
            with_imports(denied, &["wasi:cli"])
        ),
    );
    assert_eq!(
        project.wippy(&["run", "tcp", &address, "ping"]).ok(),
        "echo: ping\n"
    );
    server.join().unwrap();
    let run = project.wippy(&["run", "tcp-denied", &address, "ping"]);
    assert!(
        run.failed().contains("does not grant `wasi:sockets`"),
        "{run:#?}"
    );
}

#[test]
fn a_single_interface_can_be_granted_alone() {
    let project = prober_project(&[
        ("stdout-only", "print", &["wasi:cli/stdout"]),
        ("args", "arguments", &["wasi:cli/stdout"]),
    ]);
    assert_eq!(
        project.wippy(&["run", "stdout-only", "just stdout"]).ok(),
        "just stdout\n"
    );
    let run = project.wippy(&["run", "args"]);
    assert!(run.failed().contains("it called `wasi:cli/environment@0.2.12#get-arguments`, but entry `app:args` does not grant `wasi:cli`"), "{run:#?}");
}

#[test]
fn an_import_wippy_does_not_provide_fails_only_when_called() {
    let component = wat::parse_str(
        r#"(component
            (import "acme:tools/clock" (instance $clock (export "ticks" (func (result u32)))))
            (core module $m
              (import "host" "ticks" (func $ticks (result i32)))
              (func (export "ticks") (result i32) call $ticks)
              (func (export "seven") (result i32) i32.const 7))
            (core func $ticks (canon lower (func $clock "ticks")))
            (core instance $i (instantiate $m (with "host" (instance (export "ticks" (func $ticks))))))
            (func (export "ticks") (result u32) (canon lift (core func $i "ticks")))
            (func (export "seven") (result u32) (canon lift (core func $i "seven"))))"#,
    )
    .unwrap();
    let project = Project::new();
    project.write("wasm/acme.wasm", &component);
    let hash = support::sha256(&component);
    let yaml = format!(
        "{HEADER}{}{}",
        wasm_entry("ticks", "acme.wasm", &hash, "ticks", Some("ticks")),
        wasm_entry("seven", "acme.wasm", &hash, "seven", Some("seven"))
    );
    project.write("src/app.yaml", yaml);
    assert_eq!(project.wippy(&["run", "seven"]).ok(), "7\n");
    let run = project.wippy(&["run", "ticks"]);
    assert!(
        run.failed().starts_with("error: `app:ticks` failed: it called `acme:tools/clock#ticks`, which wippy does not provide; the component needs a host that implements `acme:tools/clock`"),
        "{run:#?}"
    );
    let check = project.wippy(&["check"]);
    assert!(
        check
            .ok()
            .contains("    note: not provided by wippy (calls fail): acme:tools/clock"),
        "{check:#?}"
    );
}
