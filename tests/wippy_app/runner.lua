-- Runs every registry entry with `meta.type: test` through funcs.call, in ID order, and prints
-- one line per test and a closing count. A test passes when it returns without an error and
-- its value is not `false` (Wippy's convention: `return true`, or `return false, "why"`).
local registry = require("registry")
local funcs = require("funcs")

local function main(filter)
	local tests = registry.find({ ["meta.type"] = "test" })
	table.sort(tests, function(a, b) return a.id < b.id end)
	local passed, failed = 0, 0
	for _, test in ipairs(tests) do
		if filter == nil or string.find(test.id, filter, 1, true) then
			local ok, value, err = pcall(funcs.call, test.id)
			if not ok then
				value, err = nil, value
			end
			if err == nil and value ~= false then
				passed = passed + 1
				print("PASS " .. test.id)
			else
				failed = failed + 1
				print("FAIL " .. test.id .. ": " .. tostring(err or "returned false"))
			end
		end
	end
	print(string.format("%d passed, %d failed", passed, failed))
	if failed > 0 then
		return nil, failed .. " tests failed"
	end
end

return { main = main }
