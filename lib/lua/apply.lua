-- apply.lua: one batch of counter changes, applied atomically and exactly once.
--
-- The aggregator pre-aggregates a polled batch in memory and sends it here in one call. Redis runs
-- a script without interleaving anything else, so the position check, the first-seen checks, the
-- counter changes, the new positions and the change notice happen as one step: a crash leaves
-- either all of it or none of it, and the stored positions always say exactly which messages the
-- counters contain.
--
-- ARGV, in sections, each a count followed by that many tuples (every key is relative to the
-- generation's namespace <prefix>g<gen>:):
--   prefix, generation, role ("live": the generation readers use; "rebuild": the one being built)
--   offsets:   field ("<topic>:<partition>"), expected stored value ("-" for none), next value
--   newest, first (no count)      the newest minute the batch names ("-": none), and the first
--                                 minute of the window the writer decided the session bits in.
--                                 The window is the WINDOW minutes up to the newest of the batch
--                                 and the series; when its first minute is another one, nothing
--                                 is applied and {"window", newest} says the series' newest.
--   ranges:    key, byte offset, expected bytes, new bytes
--                                 the session fields the batch changes (3 bytes per session, see
--                                 counters.h), which the writer decided from its own copy; when
--                                 any range does not hold the expected bytes, nothing is applied
--                                 and the reply is {"stale"}
--   facts:     key, bit           a transaction id's first-seen bit; any already set: nothing is
--                                 applied and the positions of those ids come back as "dups"
--   firsts:    key, bit, n, (hash, field) x n
--                                 a first-seen bit (cohort member, reference id); only when it
--                                 was not set yet, each listed counter gets +1
--   incrs:     hash, field, delta       HINCRBY, pre-aggregated over the batch's new facts and
--                                       the session bits it sets
--   zincrs:    zset, member, delta      ZINCRBY (the rankings)
--   sets:      hash, field, value       HSET (names, pipeline gauges)
--   minutes:   key, bit, minute, series, delta
--                                 the minute series (minute: since the epoch). Moving the window
--                                 deletes the minutes older than it, in the same step. An entry
--                                 older than the window counts nothing (and sets no bit); one
--                                 inside it counts when key is "-" (a new transaction, a session
--                                 bit the writer decided) or its first-seen bit was clear.
--
-- The layout of the session fields is the generation's "layout" key, LAYOUT; a generation that
-- applied batches without it was written by an older version, and gets {"layout", found} (a
-- rebuild recomputes it in this layout).
--
-- Replies: {"ok", newest} (the series' newest minute now, "-" for none); {"already"} when every
-- position already equals the batch's next one (a retry of a batch whose reply was lost);
-- {"fenced", why} when the stored position or the generation is not the one the caller continues
-- from; {"frozen"} while a rebuild is switching generations; {"window", newest}; {"stale"};
-- {"dups", i, ...} with the 0-based positions of facts counted before.

local LAYOUT = "2"

local prefix, gen, role = ARGV[1], ARGV[2], ARGV[3]
local ns = prefix .. "g" .. gen .. ":"
local at = 4
local function take()
  local v = ARGV[at]
  at = at + 1
  return v
end

if role == "live" then
  if redis.call("GET", prefix .. "current") ~= gen then return {"fenced", "generation"} end
  if redis.call("EXISTS", ns .. "frozen") == 1 then return {"frozen"} end
else
  if redis.call("GET", prefix .. "rebuilding") ~= gen then return {"fenced", "generation"} end
end

local offsets_key = ns .. "offsets"
local layout = redis.call("GET", ns .. "layout")
if layout ~= LAYOUT then
  if layout or redis.call("EXISTS", offsets_key) == 1 then return {"layout", layout or "1"} end
  redis.call("SET", ns .. "layout", LAYOUT)
end
local n = tonumber(take())
local new_offsets, continuing, repeated = {}, 0, 0
for _ = 1, n do
  local field, expected, nxt = take(), take(), take()
  local stored = redis.call("HGET", offsets_key, field) or "-"
  if stored == nxt then
    repeated = repeated + 1
  elseif stored == expected then
    continuing = continuing + 1
  end
  new_offsets[#new_offsets + 1] = field
  new_offsets[#new_offsets + 1] = nxt
end
if n > 0 and repeated == n then return {"already"} end
if continuing ~= n then return {"fenced", "offsets"} end

-- The window, and the session fields' ranges: checked before anything is written.
local WINDOW = 1440 -- ECOM_MINUTE_WINDOW
local index = ns .. "minutes"
local batch_newest, assumed_first = take(), take()
local top = redis.call("ZREVRANGE", index, 0, 0, "WITHSCORES")
local stored = top[2] and tonumber(top[2])
local newest, first
if batch_newest ~= "-" then
  newest = tonumber(batch_newest)
  if stored and stored > newest then newest = stored end
  first = newest - WINDOW + 1
  if tonumber(assumed_first) ~= first then return {"window", tostring(newest)} end
end
n = tonumber(take())
local ranges = {}
for i = 1, n do
  local key, offset, expected, now = ns .. take(), tonumber(take()), take(), take()
  local found = redis.call("GETRANGE", key, offset, offset + #expected - 1)
  if #found < #expected then found = found .. string.rep("\0", #expected - #found) end
  if found ~= expected then return {"stale"} end
  ranges[i] = {key, offset, now}
end

-- Facts first: if any was counted before, undo the bits set so far and say which.
n = tonumber(take())
local set_now, dups = {}, {}
for i = 1, n do
  local key, b = ns .. take(), take()
  if redis.call("SETBIT", key, b, 1) == 1 then
    dups[#dups + 1] = i - 1
  else
    set_now[#set_now + 1] = key
    set_now[#set_now + 1] = b
  end
end
if #dups > 0 then
  for i = 1, #set_now, 2 do redis.call("SETBIT", set_now[i], set_now[i + 1], 0) end
  local reply = {"dups"}
  for i = 1, #dups do reply[#reply + 1] = dups[i] end
  return reply
end

-- Calls command (after `first`, when given) with args CHUNK at a time (a Lua call takes a
-- bounded number of arguments; CHUNK is even, so pairs stay whole) rather than once per
-- element: each call from a script costs about as much as a small command's own work.
local CHUNK = 1000
local function in_chunks(command, first, args)
  for i = 1, #args, CHUNK do
    local j = math.min(i + CHUNK - 1, #args)
    if first then
      redis.call(command, first, unpack(args, i, j))
    else
      redis.call(command, unpack(args, i, j))
    end
  end
end

-- Sums by a pair of names, in the order each pair first came: add(a, b, by), each(fn(a, b, sum)).
local function sums()
  local total, order = {}, {}
  return {
    add = function(a, b, by)
      local k = a .. "\0" .. b
      if not total[k] then
        total[k] = 0
        order[#order + 1] = {a, b, k}
      end
      total[k] = total[k] + by
    end,
    each = function(fn)
      for _, e in ipairs(order) do fn(e[1], e[2], total[e[3]]) end
    end,
  }
end

-- First-seen bits: count each (hash, field) once per newly set bit, summed before writing.
-- (Written at the end.)
local bumps = sums()
n = tonumber(take())
for _ = 1, n do
  local key, b, m = ns .. take(), take(), tonumber(take())
  local fresh = redis.call("SETBIT", key, b, 1) == 0
  for _ = 1, m do
    local hash, field = take(), take()
    if fresh then bumps.add(hash, field, 1) end
  end
end

n = tonumber(take())
for _ = 1, n do
  local hash, field, delta = take(), take(), take()
  redis.call("HINCRBY", ns .. hash, field, delta)
end

n = tonumber(take())
for _ = 1, n do
  local zset, member, delta = take(), take(), take()
  redis.call("ZINCRBY", ns .. zset, delta, member)
end

n = tonumber(take())
for _ = 1, n do
  local hash, field, value = take(), take(), take()
  redis.call("HSET", ns .. hash, field, value)
end

for _, r in ipairs(ranges) do redis.call("SETRANGE", r[1], r[2], r[3]) end

-- The minute series: the batch's newest minute moves the window.
n = tonumber(take())
local minute_sums = sums()
if newest then
  if stored and newest > stored then
    local old = redis.call("ZRANGEBYSCORE", index, "-inf", "(" .. first)
    if #old > 0 then
      local keys = {}
      for i, m in ipairs(old) do keys[i] = ns .. "minute:" .. m end
      in_chunks("DEL", nil, keys)
      redis.call("ZREMRANGEBYSCORE", index, "-inf", "(" .. first)
    end
  end
end
for _ = 1, n do
  local key, b, minute, series, delta = take(), take(), take(), take(), tonumber(take())
  if newest and tonumber(minute) >= first and
      (key == "-" or redis.call("SETBIT", ns .. key, b, 1) == 0) then
    minute_sums.add(minute, series, delta)
  end
end

bumps.each(function(hash, field, by) redis.call("HINCRBY", ns .. hash, field, by) end)
-- A minute newer than the series' newest before this batch has no hash yet (every minute hash
-- is in the index): its fields are set together, in one HSET; an older one's are added to.
local indexed, scored, fresh = {}, {}, {}
minute_sums.each(function(m, series, delta)
  if not indexed[m] then
    indexed[m] = true
    scored[#scored + 1] = m
    scored[#scored + 1] = m
  end
  if stored and tonumber(m) <= stored then
    redis.call("HINCRBY", ns .. "minute:" .. m, series, delta)
  else
    local fields = fresh[m]
    if not fields then
      fields = {}
      fresh[m] = fields
    end
    fields[#fields + 1] = series
    fields[#fields + 1] = delta
  end
end)
for m, fields in pairs(fresh) do redis.call("HSET", ns .. "minute:" .. m, unpack(fields)) end
if #scored > 0 then in_chunks("ZADD", index, scored) end
top = redis.call("ZREVRANGE", index, 0, 0, "WITHSCORES")

if #new_offsets > 0 then redis.call("HSET", offsets_key, unpack(new_offsets)) end
redis.call("PUBLISH", prefix .. "changes", gen)
return {"ok", top[2] or "-"}
