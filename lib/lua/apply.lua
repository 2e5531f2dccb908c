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
--   facts:     key, bit           a transaction id's first-seen bit; any already set: nothing is
--                                 applied and the positions of those ids come back as "dups"
--   firsts:    key, bit, n, (hash, field) x n
--                                 a first-seen bit (session step, cohort member, reference id);
--                                 only when it was not set yet, each listed counter gets +1
--   incrs:     hash, field, delta       HINCRBY, pre-aggregated over the batch's new facts
--   zincrs:    zset, member, delta      ZINCRBY (the rankings)
--   sets:      hash, field, value       HSET (names, pipeline gauges)
--   minutes:   key, bit, minute, series, delta
--                                 the minute series (minute: since the epoch). The newest minute
--                                 of the batch and the counters moves the window of WINDOW
--                                 minutes; minutes older than the window are deleted here, in the
--                                 same step. An entry older than the window counts nothing (and
--                                 sets no bit); one inside it counts when key is "-" (a new
--                                 transaction, already checked above) or its first-seen bit was
--                                 clear.
--   active:    key, bit, flags            a session's started (bit) and ended (bit + 1) bits;
--                                 flags 1: the batch has its session_start, 2: its session_end.
--                                 counts:active_sessions is the number of sessions with the first
--                                 bit set and not the second.
--
-- Replies: {"ok"}; {"already"} when every position already equals the batch's next one (a retry
-- of a batch whose reply was lost); {"fenced", why} when the stored position or the generation is
-- not the one the caller continues from; {"frozen"} while a rebuild is switching generations;
-- {"dups", i, ...} with the 0-based positions of facts counted before.

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

-- Facts first: if any was counted before, undo the bits set so far and say which.
n = tonumber(take())
local set_now, dups = {}, {}
for i = 1, n do
  local key, bit = ns .. take(), take()
  if redis.call("SETBIT", key, bit, 1) == 1 then
    dups[#dups + 1] = i - 1
  else
    set_now[#set_now + 1] = key
    set_now[#set_now + 1] = bit
  end
end
if #dups > 0 then
  for i = 1, #set_now, 2 do redis.call("SETBIT", set_now[i], set_now[i + 1], 0) end
  local reply = {"dups"}
  for i = 1, #dups do reply[#reply + 1] = dups[i] end
  return reply
end

-- First-seen bits: count each (hash, field) once per newly set bit, summed before writing.
local bumps, order = {}, {}
n = tonumber(take())
for _ = 1, n do
  local key, bit, m = ns .. take(), take(), tonumber(take())
  local fresh = redis.call("SETBIT", key, bit, 1) == 0
  for _ = 1, m do
    local hash, field = take(), take()
    if fresh then
      local k = hash .. "\0" .. field
      if not bumps[k] then
        bumps[k] = 0
        order[#order + 1] = {hash, field, k}
      end
      bumps[k] = bumps[k] + 1
    end
  end
end
for _, e in ipairs(order) do redis.call("HINCRBY", ns .. e[1], e[2], bumps[e[3]]) end

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

local WINDOW = 1440
n = tonumber(take())
if n > 0 then
  local index = ns .. "minutes"
  local keys, bits, minutes, series, deltas = {}, {}, {}, {}, {}
  local top = redis.call("ZREVRANGE", index, 0, 0, "WITHSCORES")
  local stored = top[2] and tonumber(top[2])
  local newest = stored
  for i = 1, n do
    keys[i], bits[i], minutes[i], series[i], deltas[i] = take(), take(), tonumber(take()), take(),
        take()
    if not newest or minutes[i] > newest then newest = minutes[i] end
  end
  local first = newest - WINDOW + 1
  if stored and newest > stored then
    local old = redis.call("ZRANGEBYSCORE", index, "-inf", "(" .. first)
    for _, m in ipairs(old) do redis.call("DEL", ns .. "minute:" .. m) end
    if #old > 0 then redis.call("ZREMRANGEBYSCORE", index, "-inf", "(" .. first) end
  end
  local indexed = {}
  for i = 1, n do
    local m = minutes[i]
    if m >= first and (keys[i] == "-" or redis.call("SETBIT", ns .. keys[i], bits[i], 1) == 0) then
      redis.call("HINCRBY", ns .. "minute:" .. m, series[i], deltas[i])
      if not indexed[m] then
        indexed[m] = true
        redis.call("ZADD", index, m, m)
      end
    end
  end
end

n = tonumber(take())
local active = 0
for _ = 1, n do
  local key, bit, flags = ns .. take(), tonumber(take()), tonumber(take())
  local started = redis.call("GETBIT", key, bit) == 1
  local ended = redis.call("GETBIT", key, bit + 1) == 1
  if flags % 2 == 1 and not started then
    redis.call("SETBIT", key, bit, 1)
    started = true
    if not ended then active = active + 1 end
  end
  if flags >= 2 and not ended then
    redis.call("SETBIT", key, bit + 1, 1)
    if started then active = active - 1 end
  end
end
if active ~= 0 then redis.call("HINCRBY", ns .. "counts", "active_sessions", active) end

if #new_offsets > 0 then redis.call("HSET", offsets_key, unpack(new_offsets)) end
redis.call("PUBLISH", prefix .. "changes", gen)
return {"ok"}
