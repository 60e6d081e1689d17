-- Hand-picked cases for the differential test (tests.rs): each runs with Lua's C functions
-- and with ours, and the outcomes (values with their types, or the error text) must agree.
-- `t(name, args...)` calls string[name](args...); `chunk(code)` runs a chunk; `logged(f)`
-- makes a replacement function whose calls are compared too.
local cases = {}
local function t(...) cases[#cases + 1] = table.pack(...) end
local function chunk(code) cases[#cases + 1] = code end
local logged = ...

local all_bytes = {}
for i = 0, 255 do all_bytes[#all_bytes + 1] = string.char(i) end
all_bytes = table.concat(all_bytes)

-- Every class and its complement, over every byte.
for _, class in ipairs({"a", "c", "d", "g", "l", "p", "s", "u", "w", "x", "z", "Z", "b_"}) do
  t("gsub", all_bytes, "%" .. class, "")
  t("gsub", all_bytes, "%" .. class:upper(), "")
  t("gsub", all_bytes, "[%" .. class .. "]", "")
  t("gsub", all_bytes, "[^%" .. class .. "]", "")
end
t("gsub", all_bytes, ".", "x")
t("gsub", all_bytes, "[\0-\31]", "")
t("gsub", all_bytes, "[\128-\255]+", "<%0>")
t("gsub", all_bytes, "[%z]", "")
for _, escaped in ipairs({"%.", "%%", "%(", "%)", "%[", "%]", "%-", "%+", "%*", "%?", "%^", "%$", "%\0", "%\255", "%_", "%/"}) do
  t("find", "a.b%c(d)e[f]g-h+i*j?k^l$m\0n\255o_p/q", escaped)
end

-- Sets.
for _, set in ipairs({"[]]", "[^]]", "[]a]", "[^]a]", "[a-]", "[-a]", "[a-c]", "[c-a]", "[%a-]",
  "[%]]", "[%-]", "[a%-c]", "[^-]", "[^%a%d]", "[a-c-e]", "[!-/]", "[]-a]", "[^^]", "[%^]",
  "[a^]", "[.]", "[%.]", "[%%]", "[-]", "[]", "[^]", "[a", "[^", "[%", "[%]", "[a%]", "[]-]",
  "[%w_]", "[%W]", "[\0-\10]", "[\255]", "[z-a]", "[a-a]", "[--/]", "[%a-z]", "[a-%z]"}) do
  t("gsub", "ab]c-d^e.f%g\0h\255i/j_k-", set, "<%0>")
  t("gsub", "ab]c-d^e.f%g\0h\255i/j_k-", set .. "+", "<%0>")
end

-- Anchors.
t("find", "aaa", "^a")
t("find", "baa", "^a")
t("find", "aaa", "^a", 2)
t("find", "aaa", "a$")
t("find", "aab", "a$")
t("find", "a$b", "a$b")
t("find", "a^b", "a^b")
t("find", "^ab", "^^a")
t("match", "hello", "^(h)(.-)$")
t("match", "hello", "$")
t("match", "hello", "^$")
t("match", "", "^$")
t("gsub", "hello", "^", ">")
t("gsub", "hello", "$", "<")
t("gsub", "hello", "^h", "H")
t("gsub", "hhh", "^h", "H")
t("gsub", "hello world", "^%w+", string.upper)
t("gsub", "a$b$", "%$", "!")
t("gmatch", "^a^a", "^a")
t("gmatch", "aaa", "^a")

-- Quantifiers.
t("match", "aaab", "a*")
t("match", "aaab", "a-b")
t("match", "aaab", "a+")
t("match", "aaab", "a?a?a?a?b")
t("match", "b", "a+")
t("match", "<<a>>", "<(.-)>")
t("match", "<<a>>", "<(.*)>")
t("match", "x = 1, y = 22", "(%w+) = (%d+)")
t("match", "  trim me  ", "^%s*(.-)%s*$")
t("match", "key=value", "([^=]+)=(.*)")
t("find", "abc", "b*")
t("find", "abc", "x*")
t("find", "abc", "c-")
t("find", "abc", "[a-c]-c")
t("match", "a+b", "a+b")
t("match", "a+b", "a%+b")
t("match", "aaa", "a-$")
t("match", "aaa", "(a-)(a*)")
t("match", "*?", "*?")
t("match", "-+", "-+")
t("match", "", "a?")
t("match", "ab", "a?b?c?")

-- Captures.
t("match", "hello world", "(h)(e)(l)(l)(o)")
t("match", "hello", "()ll()")
t("find", "hello", "()ll()")
t("match", "hello", "()")
t("match", "hello", "(()l)")
t("match", "hello", "((l)(l))")
t("match", "abc", "((a)(b)(c))")
t("find", "abc", "(")
t("find", "abc", ")")
t("find", "abc", "a)")
t("find", "abc", "(()")
t("match", "abc", "(a)(")
t("match", "abc", "(a()")
t("find", "", "()")
t("match", "abc", string.rep("()", 32))
t("match", "abc", string.rep("()", 33))
t("match", string.rep("a", 40), string.rep("(a)", 32))
t("match", string.rep("a", 40), string.rep("(a)", 33))

-- Back-references.
t("match", "abab", "(ab)%1")
t("match", "abac", "(ab)%1")
t("match", "xyzzy", "(.)%1")
t("match", [[say "hi" or 'bye']], [[(["'])(.-)%1]])
t("match", "aa", "()%1")
t("match", "aa", "(a)%2")
t("match", "aa", "(a%1)")
t("match", "aa", "%0")
t("match", "aa", "%1")
t("match", "aa", "(a)(a)%2%1")
t("match", "aaaa", "(a*)%1")
t("gsub", "hello hello world world", "(%w+) %1", "%1")

-- %b and %f.
t("match", "f(a(b)c) d", "%b()")
t("match", "f(a(b)c d", "%b()")
t("match", "x[[a]]y", "%b[]")
t("match", "abba", "%baa")
t("match", "''x'", "%b''")
t("match", "abc", "%b")
t("match", "abc", "%ba")
t("gsub", "(a)(b)((c))", "%b()", "X")
t("gsub", "THE (quick) fox", "%f[%a]%a+", "W")
t("gsub", "THE (quick) fox", "%f[%A]", "|")
t("gsub", "hello", "%f[%l]", ".")
t("gsub", "hello", "%f[%z]", ".")
t("gsub", "a\0b", "%f[%z]", ".")
t("gsub", "a\0b", "%f[^%z]", ".")
t("find", "abc", "%f")
t("find", "abc", "%fa")
t("find", "abc", "%f[a")
t("match", "THE (quick) fox", "%f[%a](%a+)%f[%A]")

-- Malformed patterns.
for _, pattern in ipairs({"%", "a%", "[", "[a", "[^", "[%", "[%]", "(", ")", "%1", "%b",
  "%bx", "%f", "%fx", "(()", "())", "%g%", "a[b%]", string.rep("(", 40),
  string.rep("a?", 300), string.rep("a*", 300), string.rep("(a)", 33)}) do
  t("find", "abc", pattern)
  t("find", string.rep("a", 300), pattern)
  t("gsub", "abc", pattern, "x")
end

-- Deep patterns: how deep the matcher may recurse is Lua's.
for _, depth in ipairs({150, 198, 199, 200, 201, 250}) do
  t("match", string.rep("a", depth + 5), string.rep("a?", depth))
  t("match", string.rep("a", depth + 5), string.rep("a-", depth) .. "$")
  t("match", string.rep("a", depth + 5), string.rep("a*", depth))
end

-- init.
for _, init in ipairs({-100, -6, -5, -4, -1, 0, 1, 2, 5, 6, 7, 100, 2.0, "2", math.mininteger, math.maxinteger}) do
  t("find", "hello", "l", init)
  t("find", "hello", "", init)
  t("find", "hello", "l", init, true)
  t("find", "hello", "", init, true)
  t("match", "hello", "()", init)
  t("match", "hello", ".*", init)
  t("gmatch", "hello", ".", init)
  t("gmatch", "hello", "", init)
end
t("find", "hello", "l", 1.5)
t("find", "hello", "l", "x")
t("find", "hello", "l", nil, nil)
t("match", "hello", "l", {})

-- plain.
t("find", "a.b", ".", 1, true)
t("find", "a.b", "%.", 1, true)
t("find", "a+b", "+", 1, 1)
t("find", "a+b", "+", 1, false)
t("find", "a+b", "+", 1, nil)
t("find", "a(b", "(", 1, true)
t("find", "a(b", "(", 1, false)
t("find", "ab\0cd", "\0c")
t("find", "ab\0cd", "\0c", 1, true)
t("find", "ab\0c.d", "\0c.")
t("find", "", "")
t("find", "", "", 1)
t("find", "", "", 2)
t("find", "abc", "abcd")
t("find", "abcabc", "ca")
t("find", "abc]", "]")

-- Numbers and other arguments.
t("find", 123, 2)
t("find", 12.5, "%.")
t("match", 1e100, "e(.*)")
t("match", -0.0, ".*")
t("gsub", 12345, 3, 9)
t("gsub", 12345, "%d", 1.5)
t("gsub", "abc", "b", 2^63)
t("find")
t("find", "x")
t("find", nil, "x")
t("find", "x", {})
t("match", true, "x")
t("gmatch", "x")
t("gsub", "x", "x")
t("gsub", "x", "x", true)
t("gsub", "x", "x", nil, 1)
t("gsub", "x", "x", "y", "z")
t("gsub", "x", "x", "y", 1.5)
t("gsub", "x", "x", coroutine.create(print))
t("gsub", "x", "x", io and io.stdout or newproxy and newproxy() or nil)

-- gmatch.
t("gmatch", "hello world from Lua", "%a+")
t("gmatch", "k1=v1, k2=v2", "(%w+)=(%w+)")
t("gmatch", "abc", "")
t("gmatch", "abc", "()")
t("gmatch", "abc", "b*")
t("gmatch", "aaa", "a*")
t("gmatch", "a,b,,c", "([^,]*)")
t("gmatch", "abc", "(")
t("gmatch", "abc", "%")
t("gmatch", "one two", "%a+", 3)
t("gmatch", "one two", "%a+", -3)
t("gmatch", "", "x*")
t("gmatch", "", "x*", 2)

-- gsub with strings.
t("gsub", "hello world", "o", "0")
t("gsub", "hello world", "o", "0", 1)
t("gsub", "hello world", "o", "0", 0)
t("gsub", "hello world", "o", "0", -1)
t("gsub", "hello world", "o", "0", 1.0)
t("gsub", "hello world", "(o)", "[%1%1]")
t("gsub", "hello world", "o", "[%1]")
t("gsub", "hello world", "o", "[%0]")
t("gsub", "hello world", "o", "[%2]")
t("gsub", "hello world", "(o)", "[%2]")
t("gsub", "hello world", "o", "100%%")
t("gsub", "hello world", "o", "100%")
t("gsub", "hello world", "o", "%x")
t("gsub", "hello world", "o", "%")
t("gsub", "hello world", "()o()", "%1-%2")
t("gsub", "hello world", "(l)(l)", "%2%1")
t("gsub", "abc", "", "-")
t("gsub", "abc", "b*", "-")
t("gsub", "abc", "x*", "-")
t("gsub", "", "", "-")
t("gsub", "", "x*", "-")
t("gsub", "abc", ".-", "-")
t("gsub", "abc", "%w", "%0%0")
t("gsub", "hello world", "%w+", "%0 %0", 1)
t("gsub", "abc", "(", "x")
t("gsub", "abc", "(a)", "%9")
t("gsub", "a\0b", "\0", "%%\0%%")
t("gsub", "hello", "", "")
t("gsub", "hello", "(l+)", "%1%1%1")

-- gsub with tables and functions.
local map = {hello = "HI", world = false, x = 1, [3] = "three", y = {}}
t("gsub", "hello world x y", "%w+", map)
t("gsub", "hello world x y", "%w+", setmetatable({}, {__index = function(_, k) return k:upper() end}))
t("gsub", "abc", "()b", map)
t("gsub", "hello world", "(%w+)", logged(function(w) return w:upper() end))
t("gsub", "hello world", "(%w)(%w*)", logged(function(a, b) return b .. a end))
t("gsub", "hello world", "%w+", logged(function() return nil end))
t("gsub", "hello world", "%w+", logged(function() return false end))
t("gsub", "hello world", "%w+", logged(function() return 42 end))
t("gsub", "hello world", "%w+", logged(function() return 4.5 end))
t("gsub", "hello world", "%w+", logged(function() return {} end))
t("gsub", "hello world", "%w+", logged(function() return true end))
t("gsub", "hello world", "%w+", logged(function() error("inside") end))
t("gsub", "hello world", "%w+", logged(function() error("inside", 0) end))
t("gsub", "hello world", "()%w+()", logged(function(a, b) return a .. ":" .. b end))
t("gsub", "abc", "", logged(function(...) return select("#", ...) end))
t("gsub", "abc", "x*", logged(function() end), 2)
t("gsub", "abc", "(", logged(function() end))

-- Methods, and the errors they name.
chunk [[return ("hello"):find("l")]]
chunk [[return ("hello"):match("(h)(e)")]]
chunk [[local out = {} for w in ("a b c"):gmatch("%a") do out[#out + 1] = w end return table.concat(out)]]
chunk [[return ("hello"):gsub("l", "L")]]
chunk [[return ("x"):find(nil)]]
chunk [[return ("x"):gsub("x")]]
chunk [[return ("x"):gsub("x", "y", "z")]]
chunk [[local s = 5 return s.find]]
chunk [[return string.find(nil, "x")]]
chunk [[return pcall(string.gsub, "x", "x", true)]]
chunk [[local find = string.find return find(nil)]]
chunk [[local it = string.gmatch("a1b2", "%a(%d)") return it(), it(), it(), it()]]
chunk [[local it = string.gmatch("abc", "(") return pcall(it)]]
chunk [[return string.gsub("abc", "%w", "%1", nil)]]

return cases
