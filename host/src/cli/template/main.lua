local function main(name)
  -- The worker gets its arguments as a JSON array; its answer is the EXIT's value.
  process.spawn_monitored("app:worker", "app:processes", name or "World")
  local exit = process.receive("10s")
  if exit == nil then return nil, "the worker did not answer within 10s" end
  if exit.error then return nil, "the worker failed: " .. exit.error end
  return exit.value.greeting .. " (from " .. exit.value.pid .. ")"
end

return {main = main}
