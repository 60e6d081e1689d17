//! Lua's pattern functions cannot pin a thread: a pattern that backtracks without end (which
//! in C Lua runs for hours, out of reach of preemption and `terminate`) stops with an error
//! that says so, while the processes beside it carry on; everyday patterns work as in Lua.
//! Each run has a deadline, so a regression that hangs fails instead of stalling the suite.

mod support;

use support::{Project, beside_healthy, lua_project, wippy_within};

fn patterns_project(script: &str) -> Project {
    lua_project(
        r#"  - name: backtracker
    kind: process.lua
    source: |
      return string.find(string.rep("a", 20000), ".-.-.-.-.-.-b")
"#,
        script,
    )
}

#[test]
fn a_runaway_pattern_ends_its_process_and_nothing_else() {
    let project = patterns_project(&beside_healthy("app:backtracker"));
    let run = wippy_within(&project, &["run", "main"], &[], &[]);
    assert_eq!(
        run.ok(),
        "nil / `app:backtracker` failed: app:backtracker:1: string.find: pattern too complex for \
         this subject (gave up after 102000000 steps); simplify the pattern or match a shorter \
         string\nstill here / nil\n"
    );
}

#[test]
fn patterns_work_as_in_lua_and_fail_with_lua_errors() {
    let project = patterns_project(
        r#"print(string.find("hello world", "o w"), ("hello"):find("l+"))
print(string.match("key = value", "^(%w+)%s*=%s*(%w+)$"))
local words = {}
for w in ("one two three"):gmatch("%a+") do words[#words + 1] = w end
print(table.concat(words, ","), ("hello world"):gsub("o", "0"))
print(("x = 1, y = 2"):gsub("(%w+) = (%w+)", "%2 = %1"))
print(("$name is $age"):gsub("%$(%w+)", {name = "Ann", age = 7}))
print(pcall(string.find, "x", "[a"))
print(pcall(string.rep("a", 300).find, string.rep("a", 300), string.rep("a?", 250)))
local ok, err = pcall(string.find, string.rep("a", 20000), ".-.-.-.-.-.-b")
print(ok, type(err), err)
print(string.find(123, 2), string.gsub("abc", "", "-"))
"#,
    );
    let run = wippy_within(&project, &["run", "main"], &[], &[]);
    assert_eq!(
        run.ok(),
        "5\t3\t4\n\
         key\tvalue\n\
         one,two,three\thell0 w0rld\t2\n\
         1 = x, 2 = y\t2\n\
         Ann is 7\t2\n\
         false\tmalformed pattern (missing ']')\n\
         false\tpattern too complex\n\
         false\tstring\tstring.find: pattern too complex for this subject (gave up after \
         102000000 steps); simplify the pattern or match a shorter string\n\
         2\t-a-b-c-\t4\n"
    );
}
