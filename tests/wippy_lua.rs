//! Wippy's Lua conventions: the `channel` and `os` globals, message objects, `listen`,
//! `json`, `ctx`, `registry`, modules Wippy has and we do not, function-call frames, and the
//! runner for `meta.type: test` entries.

mod support;

use support::Project;

#[test]
fn lua_sees_wippys_globals_message_objects_and_modules() {
    let project = Project::new();
    project.write(
        "src/main.lua",
        r#"local json = require("json")
-- `channel` is a global, with no `modules:` entry.
local ch = channel.new(1)
ch:send("buffered")
print("channel", ch:receive())

-- Inbox messages are objects.
process.send(process.pid(), "greeting", {text = "hi"})
local msg = process.inbox():receive()
print("inbox", msg:topic(), msg:from() == process.pid(), msg:payload():data().text)

-- listen() gives the values sent; with {message = true}, message objects.
local values = process.listen("values")
process.send(process.pid(), "values", 1, 2)
local got = values:receive()
print("listen", type(got), got[1], got[2])
local objects = process.listen("objects", {message = true})
process.send(process.pid(), "objects", "x")
print("listen objects", objects:receive():payload():data())
print("unlisten", process.unlisten(values))

-- A child spawned with context reads it through `ctx`, and answers by message.
local answers = process.listen("ctx")
local child = process.with_context({request_id = "r-1"})
  :spawn_monitored("app:child", "app:processes", process.pid())
print("ctx", answers:receive())
print("child exit", process.events():receive().kind == process.event.EXIT)
print("send to the exited child", process.send(child, "late", 1))

print("options", process.set_options({trap_links = "yes"}))
print("options", process.set_options({nonsense = true}))
print("json", json.encode({b = 1, a = {1, 2.0, "x"}}), json.encode({}))
print("json", json.decode('{"n": 3, "f": 1.5, "s": null}').n, json.decode(""))
print("json", json.encode({[1] = 1, [3] = 3}))

print("os", os.platform, type(os.time()), os.exit, os.getenv)

local registry = require("registry")
local found = registry.find({["meta.type"] = "test"})
print("registry", #found, found[1].id, found[1].kind)
"#,
    );
    project.write(
        "src/app.yaml",
        r#"namespace: app
entries:
  - {name: processes, kind: process.host}
  - name: child
    kind: process.lua
    modules: [ctx]
    source: |
      local function main(parent)
        process.send(parent, "ctx", (require("ctx").get("request_id")))
      end
      return { main = main }
  - {name: a_test, kind: function.lua, source: "return {main = function() return true end}", meta: {type: test}}
  - {name: main, kind: process.lua, source: file://main.lua, modules: [json, registry], meta: {command: {name: main}}}
"#,
    );
    let stdout = project.wippy(&["run", "main"]).ok().to_string();
    let lines: Vec<&str> = stdout.lines().collect();
    let expected = [
        "channel\tbuffered\ttrue",
        "inbox\tgreeting\ttrue\thi",
        "listen\ttable\t1\t2",
        "listen objects\tx",
        "unlisten\ttrue\tnil",
        "ctx\tr-1\ttrue",
        "child exit\ttrue",
    ];
    assert_eq!(lines[..expected.len()], expected, "{stdout}");
    let rest = lines[expected.len()..].join("\n");
    assert!(
        rest.starts_with("send to the exited child\tnil\tprocess {app:processes|0x"),
        "Wippy's own tests expect `nil, err` for a pid that has exited: {rest}"
    );
    for line in [
        "options\tfalse\ttrap_links must be a boolean",
        "options\tfalse\toption nonsense is not supported",
        "json\t{\"a\":[1,2,\"x\"],\"b\":1}\t[]",
        "json\t3\tnil\tempty string is not valid JSON",
        "json\tnil\tencode failed: cannot encode sparse array: its keys are not 1..n",
        "registry\t1\tapp:a_test\tfunction.lua",
        "os\twippy\tnumber\tnil\tnil",
    ] {
        assert!(rest.contains(line), "missing `{line}` in:\n{rest}");
    }
}

#[test]
fn a_wippy_module_not_provided_says_so_when_required() {
    let project = Project::new();
    project.write(
        "src/app.yaml",
        "namespace: app\nentries:\n  - {name: main, kind: process.lua, source: \"require('uuid')\", modules: [uuid], meta: {command: {name: main}}}\n  - {name: typo, kind: function.lua, source: x, modules: [jsno]}\n",
    );
    let err = project.wippy(&["check"]).failed().to_string();
    assert!(
        err.contains(
            "entry `app:typo`, field `modules[0]`: unknown Lua module `jsno`. Did you mean `json`?"
        ),
        "{err}"
    );
    let yaml = std::fs::read_to_string(project.root().join("src/app.yaml")).unwrap();
    project.write("src/app.yaml", yaml.replace("jsno", "json"));
    let err = project.wippy(&["run", "main"]).failed().to_string();
    assert!(
        err.contains("module `uuid` is a Wippy module that wippy-rs does not provide yet"),
        "{err}"
    );
}

#[test]
fn the_test_runner_calls_every_meta_type_test_entry() {
    let project = Project::new();
    let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/wippy_app");
    for file in ["app.yaml", "runner.lua"] {
        project.write(
            &format!("src/{file}"),
            std::fs::read(repo.join(file)).unwrap(),
        );
    }
    project.write(
        "src/tests.yaml",
        r#"namespace: app.tests
entries:
  - {name: passes, kind: function.lua, source: "return {main = function() return true end}", meta: {type: test}}
  - {name: fails, kind: function.lua, source: "return {main = function() return false, 'it broke' end}", meta: {type: test}}
  - {name: raises, kind: function.lua, source: "return {main = function() error('boom') end}", meta: {type: test}}
  - {name: not_a_test, kind: function.lua, source: "return {main = function() return false end}"}
"#,
    );
    let run = project.wippy(&["run", "test"]);
    assert_eq!(run.code, Some(1), "{run:?}");
    assert_eq!(
        run.stdout,
        "FAIL app.tests:fails: it broke\nPASS app.tests:passes\nFAIL app.tests:raises: `app.tests:raises` failed: app.tests:raises:1: boom\n1 passed, 2 failed\n"
    );
    assert!(run.stderr.ends_with("error: 2 tests failed\n"), "{run:?}");
}

#[test]
fn a_function_call_has_its_own_frame_and_early_messages_wait_for_their_listener() {
    let project = Project::new();
    let hello = project.add_guest("hello");
    project.write(
        "src/main.lua",
        r#"local funcs = require("funcs")
local frame = funcs.call("app:frame")
print("own pid", frame ~= process.pid(), "trap_links", process.get_options().trap_links)
local leaked = channel.select({ process.events():case_receive(), default = true })
print("nothing leaked", leaked.default)

local child = process.spawn_monitored("app:late_listener", "app:processes")
process.send(child, "late", "queued before the listen")
print("late", process.receive("5s").value)
"#,
    );
    project.write(
        "src/app.yaml",
        format!(
            r#"namespace: app
entries:
  - {{name: wasm, kind: fs.directory, directory: wasm}}
  - {{name: processes, kind: process.host}}
  - {{name: compute, kind: process.wasm, fs: wasm, path: hello.wasm, hash: {hello}, method: compute}}
  - name: frame
    kind: function.lua
    source: |
      return {{ main = function()
        process.set_options({{trap_links = true}})
        process.spawn_monitored("app:compute", "app:processes", 6, 7)
        local exit = process.events():receive()
        return process.pid()
      end }}
  - name: late_listener
    kind: process.lua
    modules: [time]
    source: |
      time.sleep("100ms")
      return (process.listen("late"):receive())
  - {{name: main, kind: process.lua, source: file://main.lua, modules: [funcs], meta: {{command: {{name: main}}}}}}
"#
        ),
    );
    assert_eq!(
        project.wippy(&["run", "main"]).ok(),
        "own pid\ttrue\ttrap_links\tfalse\nnothing leaked\ttrue\nlate\tqueued before the listen\n"
    );
}

#[test]
fn errors_are_objects_with_kinds_that_read_as_their_text() {
    let project = Project::new();
    project.write(
        "src/main.lua",
        r#"local json = require("json")
local e = errors.new({message = "no such user", kind = errors.NOT_FOUND, details = {id = 7}})
print("object", e:kind(), e:message(), e:retryable(), e:details().id, tostring(e))
local set = errors.new("plain"):kind(errors.INVALID):retryable(true)
print("setters", set:kind(), set:retryable(), errors.is(set, errors.INVALID), errors.is("text", errors.INVALID))
local wrapped = errors.wrap(e, "loading the profile")
print("wrap", wrapped:kind(), wrapped:message(), tostring(wrapped))
print("text", "got: " .. e, e .. "!", string.find(e, "such", 1, true), e:message():upper())

local _, decode_err = json.decode("")
local _, lookup_err = process.registry.lookup("nobody")
print("kinds", decode_err:kind(), decode_err:retryable(), lookup_err:kind(), tostring(lookup_err))

local ok, raised = pcall(error, errors.new({message = "raised", kind = errors.TIMEOUT}))
print("pcall", ok, raised:kind(), raised:message())

local value, call_err = require("funcs").call("app:fails")
local _, missing = require("funcs").call("app:nope")
print("call", value, tostring(call_err), call_err:kind(), call_err:retryable(), missing:kind())
error(errors.new("the end"))
"#,
    );
    project.write(
        "src/app.yaml",
        r#"namespace: app
entries:
  - {name: fails, kind: function.lua, source: "return {main = function() return nil, errors.new({message = 'bad input', kind = errors.INVALID, retryable = true}) end}"}
  - {name: main, kind: process.lua, source: file://main.lua, modules: [json, funcs], meta: {command: {name: main}}}
"#,
    );
    let run = project.wippy(&["run", "main"]);
    assert_eq!(
        run.stdout,
        "object\tNotFound\tno such user\tnil\t7\tno such user\n\
         setters\tInvalid\ttrue\ttrue\tfalse\n\
         wrap\tNotFound\tno such user\tloading the profile: no such user\n\
         text\tgot: no such user\tno such user!\t4\tNO SUCH USER\n\
         kinds\tInvalid\tfalse\tNotFound\tname not registered\n\
         pcall\tfalse\tTimeout\traised\n\
         call\tnil\tbad input\tInvalid\ttrue\tNotFound\n"
    );
    assert_eq!(run.failed(), "error: `app:main` failed: the end\n");
}

#[test]
fn the_event_bus_reaches_subscribers_by_system_and_kind_until_they_close() {
    let project = Project::new();
    project.write(
        "src/main.lua",
        r#"local events = require("events")
local all = events.subscribe("shop.*")
local orders = events.subscribe("shop.orders", "order.*")
local other = events.subscribe("elsewhere")
print(events.send("shop.orders", "order.placed", "/orders/7", {amount = 12}))
print(events.send("shop.users", "user.created", "/users/1"))
local e = all:channel():receive()
print("all", e.system, e.kind, e.path, e.data.amount)
e = all:channel():receive()
print("all", e.system, e.kind, e.path, e.data)
e = orders:channel():receive()
print("orders", e.kind, e.path)
local nothing = channel.select{orders:channel():case_receive(), other:channel():case_receive(), default = true}
print("nothing else", nothing.default)
print("close", orders:close())
events.send("shop.orders", "order.placed", "/orders/8")
local _, ok = orders:channel():receive()
print("closed channel", ok)
print("all again", all:channel():receive().path)
local sub, err = events.subscribe("")
print(sub, err:kind(), tostring(err))
local sent, err2 = events.send("shop", "", "/x")
print(sent, err2:kind(), tostring(err2))
"#,
    );
    project.write(
        "src/app.yaml",
        "namespace: app\nentries:\n  - {name: main, kind: process.lua, source: file://main.lua, modules: [events], meta: {command: {name: main}}}\n",
    );
    let out = project.wippy(&["run", "main"]).ok().to_string();
    assert_eq!(
        out,
        "true\tnil\ntrue\tnil\nall\tshop.orders\torder.placed\t/orders/7\t12\nall\tshop.users\tuser.created\t/users/1\tnil\norders\torder.placed\t/orders/7\nnothing else\ttrue\nclose\ttrue\nclosed channel\tfalse\nall again\t/orders/8\nnil\tInvalid\tsystem cannot be empty\nnil\tInvalid\tkind cannot be empty\n"
    );
}
