//! The differential test: in a plain state, Lua's own C functions and ours run the same
//! calls — hand-picked ones (cases.lua) and thousands of random patterns over a small
//! alphabet — and must return the same values (types included) or raise the same error text.

use mlua::{Function, Lua, Table, Value};

use super::install;

/// Runs a case with each implementation in turn (put in the `string` table, so error
/// messages name them as Lua would) and describes how the outcomes differ.
const HARNESS: &str = r#"
local C, RS = ...
local names = {"find", "match", "gmatch", "gsub"}
local function use(impl) for _, k in ipairs(names) do string[k] = impl[k] end end

local function show(v)
  if type(v) == "string" then return ("%q"):format(v) end
  if type(v) == "number" then return math.type(v) .. " " .. tostring(v) end
  if type(v) == "table" or type(v) == "function" or type(v) == "userdata"
    or type(v) == "thread" then return type(v) end
  return tostring(v)
end
local function show_all(t)
  local out = {}
  for i = 1, t.n do out[i] = show(t[i]) end
  return table.concat(out, ", ")
end
local function outcome(ok, ...)
  local values = table.pack(...)
  if not ok then return "error " .. show(values[1]) end
  return "ok(" .. values.n .. ") " .. show_all(values)
end

local log = {}
local function logged(f)
  return function(...) log[#log + 1] = "(" .. show_all(table.pack(...)) .. ")" return f(...) end
end

local function call(name, args)
  if type(name) == "string" and args == nil then
    local f = assert(load(name))
    return outcome(pcall(f))
  end
  if name ~= "gmatch" then
    return outcome(pcall(string[name], table.unpack(args, 1, args.n)))
  end
  local ok, it = pcall(string.gmatch, table.unpack(args, 1, args.n))
  if not ok then return "error " .. show(it) end
  local steps = {}
  for _ = 1, 200 do
    local step = table.pack(pcall(it))
    steps[#steps + 1] = outcome(table.unpack(step, 1, step.n))
    if not step[1] or step[2] == nil then break end
  end
  return table.concat(steps, "; ")
end

local function run(impl, name, args)
  use(impl)
  log = {}
  local result = call(name, args)
  use(C)
  if #log > 0 then result = result .. " calls " .. table.concat(log, " ") end
  return result
end

-- A case: a chunk's text, or a table.pack of a function name and its arguments.
local function compare(case)
  local name, args = case, nil
  if type(case) == "table" then
    name = case[1]
    args = table.pack(table.unpack(case, 2, case.n))
  end
  local expected, actual = run(C, name, args), run(RS, name, args)
  if expected ~= actual then
    local what = args and (name .. "(" .. show_all(args) .. ")") or name
    return what .. "\n    C:    " .. expected .. "\n    ours: " .. actual
  end
end
return compare, logged
"#;

/// A state with both implementations, and the harness's `compare` and `logged`.
fn setup() -> (Lua, Function, Function) {
    let lua = Lua::new();
    let string: Table = lua.globals().get("string").unwrap();
    let pick = |lua: &Lua| -> Table {
        let t = lua.create_table().unwrap();
        for name in ["find", "match", "gmatch", "gsub"] {
            t.set(name, string.get::<Function>(name).unwrap()).unwrap();
        }
        t
    };
    let c = pick(&lua);
    install(&lua).unwrap();
    let ours = pick(&lua);
    let (compare, logged) = lua
        .load(HARNESS)
        .set_name("=harness")
        .call::<(Function, Function)>((c, ours))
        .unwrap();
    (lua, compare, logged)
}

fn differences(compare: &Function, cases: impl IntoIterator<Item = Value>) -> (usize, Vec<String>) {
    let mut count = 0;
    let mut found = Vec::new();
    for case in cases {
        count += 1;
        if let Some(difference) = compare.call::<Option<mlua::LuaString>>(case).unwrap() {
            found.push(difference.to_string_lossy());
        }
    }
    (count, found)
}

fn assert_none(count: usize, found: &[String]) {
    assert!(
        found.is_empty(),
        "{} of {count} cases differ:\n{}",
        found.len(),
        found
            .iter()
            .take(40)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[test]
fn hand_picked_cases_match_lua() {
    let (lua, compare, logged) = setup();
    let cases: Table = lua
        .load(include_str!("cases.lua"))
        .set_name("=cases")
        .call(logged)
        .unwrap();
    let (count, found) = differences(
        &compare,
        cases.sequence_values::<Value>().map(Result::unwrap),
    );
    assert!(count > 500, "{count}");
    assert_none(count, &found);
}

/// xorshift64*: deterministic, so a failure can be run again.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

/// Pattern pieces: classes, sets (well and badly formed), captures, the special items.
const ITEMS: &[&str] = &[
    "a", "b", "a", "b", "c", " ", ".", "%a", "%d", "%s", "%w", "%p", "%A", "%S", "%%", "%(", "%.",
    "[ab]", "[^a]", "[a-c]", "[%a_]", "[]a]", "[^]]", "[a-]", "[-a]", "[%d%s]", "(", ")", "()",
    "%1", "%2", "%b()", "%bab", "%f[%a]", "%f[^%a]", "%f[a]", "$", "^", "[", "%", "]", "-", "\0",
    "\u{ff}",
];
const QUANTIFIERS: &[&str] = &["", "", "", "*", "+", "-", "?"];
const SUBJECT: &[u8] = b"aabbc  (a)1()\0\xff.%-";

fn random_pattern(rng: &mut Rng) -> Vec<u8> {
    let mut pattern = Vec::new();
    if rng.below(5) == 0 {
        pattern.push(b'^');
    }
    for _ in 0..rng.below(7) {
        pattern.extend_from_slice(rng.pick(ITEMS).as_bytes());
        pattern.extend_from_slice(rng.pick(QUANTIFIERS).as_bytes());
    }
    if rng.below(6) == 0 {
        pattern.push(b'$');
    }
    pattern
}

fn random_subject(rng: &mut Rng) -> Vec<u8> {
    let len = if rng.below(8) == 0 {
        rng.below(60)
    } else {
        rng.below(14)
    };
    (0..len)
        .map(|_| SUBJECT[rng.below(SUBJECT.len())])
        .collect()
}

#[test]
fn random_patterns_match_lua() {
    let (lua, compare, logged) = setup();
    let replace_with: Function = lua
        .load("local logged = ... return logged(function(a, b) if a == 'a' then return nil end return b end)")
        .call(logged)
        .unwrap();
    let table = lua
        .load("return {a = 'A', b = false, [1] = 'one'}")
        .eval::<Table>()
        .unwrap();
    // PATTERNS_RANDOM_CASES=1000000 PATTERNS_SEED=7 for a longer hunt.
    let env = |name: &str, default: u64| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let mut rng = Rng(0x5eed_1234_abcd_0001 ^ env("PATTERNS_SEED", 0));
    let mut cases = Vec::new();
    for _ in 0..env("PATTERNS_RANDOM_CASES", 4000) {
        let subject = lua.create_string(random_subject(&mut rng)).unwrap();
        let pattern = lua.create_string(random_pattern(&mut rng)).unwrap();
        let init = rng.below(20) as i64 - 8;
        let pack = |values: Vec<Value>| -> Value {
            let t = lua.create_sequence_from(values.clone()).unwrap();
            t.set("n", values.len()).unwrap();
            Value::Table(t)
        };
        let s = Value::String(subject);
        let p = Value::String(pattern);
        let name = |n: &str| Value::String(lua.create_string(n).unwrap());
        cases.push(pack(vec![name("find"), s.clone(), p.clone()]));
        cases.push(pack(vec![
            name("find"),
            s.clone(),
            p.clone(),
            Value::Integer(init),
        ]));
        let plain = Value::Boolean(rng.below(2) == 0);
        cases.push(pack(vec![
            name("find"),
            s.clone(),
            p.clone(),
            Value::Integer(init),
            plain,
        ]));
        cases.push(pack(vec![
            name("match"),
            s.clone(),
            p.clone(),
            Value::Integer(init),
        ]));
        cases.push(pack(vec![
            name("gmatch"),
            s.clone(),
            p.clone(),
            Value::Integer(init),
        ]));
        let repl = match rng.below(4) {
            0 => Value::Function(replace_with.clone()),
            1 => Value::Table(table.clone()),
            _ => name(rng.pick(&["%0", "<%1>", "%2", "x", "%%", "%", "", "%1%1"])),
        };
        let mut gsub = vec![name("gsub"), s.clone(), p.clone(), repl];
        if rng.below(3) == 0 {
            gsub.push(Value::Integer(rng.below(4) as i64));
        }
        cases.push(pack(gsub));
    }
    let (count, found) = differences(&compare, cases);
    assert_none(count, &found);
}

/// Text that reads like code or prose: words, numbers, `key = value`, punctuation.
fn sample_text(len: usize) -> Vec<u8> {
    let mut rng = Rng(42);
    let mut text = Vec::with_capacity(len + 16);
    while text.len() < len {
        let word: Vec<u8> = (0..1 + rng.below(9))
            .map(|_| b'a' + rng.below(26) as u8)
            .collect();
        text.extend_from_slice(&word);
        text.extend_from_slice(match rng.below(12) {
            0 => b" = 42, ".as_slice(),
            1 => b"\n",
            2 => b"(x) ",
            3 => b".  ",
            4 => b"_1 ",
            _ => b" ",
        });
    }
    text
}

/// What the budget is for: the patterns scripts use, over a long subject, take a few
/// steps per byte, far below what [`super::budget`] allows per byte, so only patterns that
/// backtrack without bound reach it.
#[test]
fn everyday_patterns_take_few_steps_per_byte() {
    let text = sample_text(1 << 20);
    let patterns: &[&str] = &[
        "%s+",
        "%a+",
        "%w+",
        "[%w_]+",
        "(%w+)%s*=%s*(%w+)",
        "[%w_]+%s*=%s*[%w_]+",
        "%d+",
        "([^,]*),",
        "[^\n]+",
        "^%s*(.-)%s*$",
        "%f[%a]%a+",
        "%b()",
        "(.-)\n",
        "needle",
        "%s*$",
        "(%a+)%.",
        "\"(.-)\"",
        "[%a_][%w_]*",
        "%s+$",
        "x%d*y",
    ];
    let mut worst = (0.0f64, "");
    for pattern in patterns {
        let (anchored, pat) = super::strip_anchor(pattern.as_bytes());
        let mut matcher = super::matcher::Matcher::new(&text, pat, u64::MAX);
        // All the matches, as gsub finds them.
        let (mut s, mut last_end) = (0, usize::MAX);
        while let Some((_, end)) = matcher.next_match(s, last_end, anchored).unwrap() {
            (s, last_end) = (end, end);
            if anchored {
                break;
            }
        }
        let per_byte = matcher.steps_taken() as f64 / text.len() as f64;
        println!("{pattern:>24}: {per_byte:.2} steps per byte");
        if per_byte > worst.0 {
            worst = (per_byte, pattern);
        }
    }
    // The budget allows 100 per byte: room for words five times as long as these.
    assert!(worst.0 < 20.0, "{worst:?}");
}
