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
--                                 a first-seen bit (cohort member, reference id); only when it
--                                 was not set yet, each listed counter gets +1
--   incrs:     hash, field, delta       HINCRBY, pre-aggregated over the batch's new facts
--   zincrs:    zset, member, delta      ZINCRBY (the rankings)
--   sets:      hash, field, value       HSET (names, pipeline gauges)
--   targets:   hash, field        the counters groups name (numbered from 1)
--   groups:    what a session bit does when it was clear (numbered from 1, used by sessions):
--                "t", n, target x n           each of those counters gets +1
--                "m", minute, series          the minute series' counter gets +1, and only
--                                             inside the window (the bit stays clear outside)
--                "s", ended mask              a start: one more active session unless it ended
--                "e", started mask            an end: one fewer active session if it started
--   minutes:   key, bit, minute, series, delta
--                                 the minute series (minute: since the epoch). The newest minute
--                                 of the batch and the counters moves the window of WINDOW
--                                 minutes; minutes older than the window are deleted here, in the
--                                 same step. An entry older than the window counts nothing (and
--                                 sets no bit); one inside it counts when key is "-" (a new
--                                 transaction, already checked above) or its first-seen bit was
--                                 clear.
--   sessions:  width, then the count and per session: key, offset, m, (mask, group) x m
--                                 every first-seen bit of a session lives in one field of `width`
--                                 bits at `offset` of its bitmap, read and written with one
--                                 BITFIELD each; a bit is named by its mask, its value in the
--                                 field read as an unsigned number (so BITFIELD's bit 0, the
--                                 field's first, is the most significant), and the bits are taken
--                                 in the order given.
--                                 counts:active_sessions is the number of sessions with their
--                                 started bit set and their ended bit clear.
--
-- The layout of these bits is the generation's "layout" key, LAYOUT; a generation that applied
-- batches without it was written by an older version, and gets {"layout", found} (a rebuild
-- recomputes it in this layout).
--
-- Replies: {"ok"}; {"already"} when every position already equals the batch's next one (a retry
-- of a batch whose reply was lost); {"fenced", why} when the stored position or the generation is
-- not the one the caller continues from; {"frozen"} while a rebuild is switching generations;
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
-- (Written at the end, with the session bits' counts.)
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

-- The counters the session bits' groups add to, and the groups: what a bit that was clear
-- does once it is set.
n = tonumber(take())
local targets, target_counts = {}, {}
for t = 1, n do
  targets[t] = {take(), take()}
  target_counts[t] = 0
end
n = tonumber(take())
local groups = {}
for g = 1, n do
  local kind = take()
  if kind == "t" then
    local m, numbers = tonumber(take()), {}
    for j = 1, m do numbers[j] = tonumber(take()) end
    groups[g] = {kind = kind, targets = numbers, count = 0}
  elseif kind == "m" then
    local minute = take()
    groups[g] = {kind = kind, minute = tonumber(minute), text = minute, series = take(), count = 0}
  else
    groups[g] = {kind = kind, other = tonumber(take())}
  end
end

-- The minute series: the newest minute of the batch and the counters moves the window.
local WINDOW = 1440
local index = ns .. "minutes"
n = tonumber(take())
local mkeys, mbits, mtexts, mminutes, mseries, mdeltas = {}, {}, {}, {}, {}, {}
local newest
for i = 1, n do
  mkeys[i], mbits[i], mtexts[i], mseries[i], mdeltas[i] = take(), take(), take(), take(),
      tonumber(take())
  mminutes[i] = tonumber(mtexts[i])
  if not newest or mminutes[i] > newest then newest = mminutes[i] end
end
for _, g in ipairs(groups) do
  if g.kind == "m" and (not newest or g.minute > newest) then newest = g.minute end
end
local first
local minute_sums = sums() -- the minutes section's
if newest then
  local top = redis.call("ZREVRANGE", index, 0, 0, "WITHSCORES")
  local stored = top[2] and tonumber(top[2])
  if stored and stored > newest then newest = stored end
  first = newest - WINDOW + 1
  if stored and newest > stored then
    local old = redis.call("ZRANGEBYSCORE", index, "-inf", "(" .. first)
    for _, m in ipairs(old) do redis.call("DEL", ns .. "minute:" .. m) end
    if #old > 0 then redis.call("ZREMRANGEBYSCORE", index, "-inf", "(" .. first) end
  end
  for i = 1, n do
    if mminutes[i] >= first and
        (mkeys[i] == "-" or redis.call("SETBIT", ns .. mkeys[i], mbits[i], 1) == 0) then
      minute_sums.add(mtexts[i], mseries[i], mdeltas[i])
    end
  end
end

-- Sessions: key, the offset of the session's field, m, (mask, group) x m, where a bit's mask is
-- its value in the field read as a number (BITFIELD's bit 0 is the most significant). A minute
-- bit is set only inside the window.
local field_type = "u" .. take()
n = tonumber(take())
local active = 0
local band, bor = bit.band, bit.bor
for _ = 1, n do
  local key, offset, m = ns .. ARGV[at], ARGV[at + 1], tonumber(ARGV[at + 2])
  at = at + 3
  local was = redis.call("BITFIELD", key, "GET", field_type, offset)[1]
  local now = was
  for j = at, at + 2 * m - 1, 2 do
    local mask, g = tonumber(ARGV[j]), groups[tonumber(ARGV[j + 1])]
    if band(now, mask) == 0 then
      local kind = g.kind
      if kind ~= "m" or g.minute >= first then
        now = bor(now, mask)
        if kind == "t" or kind == "m" then
          g.count = g.count + 1
        else -- "s" counts a start unless the session ended, "e" an end of one that started
          local other_set = band(now, g.other) ~= 0
          if kind == "s" and not other_set then active = active + 1 end
          if kind == "e" and other_set then active = active - 1 end
        end
      end
    end
  end
  at = at + 2 * m
  if now ~= was then redis.call("BITFIELD", key, "SET", field_type, offset, now) end
end

for _, g in ipairs(groups) do
  if g.kind == "t" and g.count > 0 then
    for _, t in ipairs(g.targets) do target_counts[t] = target_counts[t] + g.count end
  end
end
for t, c in ipairs(target_counts) do
  if c > 0 then bumps.add(targets[t][1], targets[t][2], c) end
end
bumps.each(function(hash, field, by) redis.call("HINCRBY", ns .. hash, field, by) end)
local indexed = {}
local function add_minute(m, series, delta)
  redis.call("HINCRBY", ns .. "minute:" .. m, series, delta)
  if not indexed[m] then
    indexed[m] = true
    redis.call("ZADD", index, m, m)
  end
end
for _, g in ipairs(groups) do
  if g.kind == "m" and g.count > 0 then add_minute(g.text, g.series, g.count) end
end
minute_sums.each(add_minute)
if active ~= 0 then redis.call("HINCRBY", ns .. "counts", "active_sessions", active) end

if #new_offsets > 0 then redis.call("HSET", offsets_key, unpack(new_offsets)) end
redis.call("PUBLISH", prefix .. "changes", gen)
return {"ok"}
