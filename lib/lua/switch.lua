-- switch.lua: makes a rebuilt generation the one readers use, in one step.
--
-- Readers must never see a total go down, so the switch happens only when the rebuilt
-- generation has read at least as far as the current one on every partition: its counters then
-- include everything the current ones do. The rebuild freezes the current generation first (live
-- writers wait), catches up with it, and calls this; the frozen generation's live writers then
-- find their generation gone and continue in the new one from its stored offsets.
--
-- ARGV: prefix, rebuilt generation.
-- Replies: {"ok"}; {"behind", field, current offset, rebuilt offset}; {"fenced"} when the
-- generation is not the one being rebuilt.

local prefix, rebuilt = ARGV[1], ARGV[2]
if redis.call("GET", prefix .. "rebuilding") ~= rebuilt then return {"fenced"} end
local current = redis.call("GET", prefix .. "current")
if current then
  local theirs = redis.call("HGETALL", prefix .. "g" .. current .. ":offsets")
  local ours_key = prefix .. "g" .. rebuilt .. ":offsets"
  for i = 1, #theirs, 2 do
    local ours = redis.call("HGET", ours_key, theirs[i])
    if not ours or tonumber(ours) < tonumber(theirs[i + 1]) then
      return {"behind", theirs[i], theirs[i + 1], ours or "-"}
    end
  end
  redis.call("DEL", prefix .. "g" .. current .. ":frozen")
end
redis.call("SET", prefix .. "current", rebuilt)
redis.call("DEL", prefix .. "rebuilding")
redis.call("PUBLISH", prefix .. "changes", rebuilt)
return {"ok"}
