-- read.lua: every metric of the generation readers use, read in one atomic step.
--
-- A reader never mixes two generations or sees a batch half applied: the generation number and
-- all its hashes are read while nothing else runs. The rankings come back as the first N members
-- of each sorted set plus every member tied with the N-th, so the caller can break ties by id.
--
-- ARGV: prefix, N.
-- Reply: {generation, hashes..., products, minutes} where hashes are HGETALL replies of the names
-- in `hashes` below, in that order, products is a flat list of (id, units, revenue, name) for
-- every product either ranking needs, and minutes a flat list of (minute, HGETALL of its hash)
-- in time order. {} when there is no generation yet.

local prefix, top_n = ARGV[1], tonumber(ARGV[2])
local gen = redis.call("GET", prefix .. "current")
if not gen then return {} end
local ns = prefix .. "g" .. gen .. ":"

local reply = {gen}
local hashes = {"sales", "funnel", "categories", "spend", "cohorts", "counts", "pipeline",
                "names:categories", "offsets", "segments"}
for _, h in ipairs(hashes) do reply[#reply + 1] = redis.call("HGETALL", ns .. h) end

local wanted, ids = {}, {}
local function rank(zset)
  local top = redis.call("ZREVRANGE", ns .. zset, 0, top_n - 1, "WITHSCORES")
  for i = 1, #top, 2 do
    if not wanted[top[i]] then
      wanted[top[i]] = true
      ids[#ids + 1] = top[i]
    end
  end
  if #top == 2 * top_n then
    local last = top[#top]
    local ties = redis.call("ZRANGEBYSCORE", ns .. zset, last, last)
    for _, id in ipairs(ties) do
      if not wanted[id] then
        wanted[id] = true
        ids[#ids + 1] = id
      end
    end
  end
end
rank("products:units")
rank("products:revenue")

local products = {}
for _, id in ipairs(ids) do
  products[#products + 1] = id
  products[#products + 1] = redis.call("ZSCORE", ns .. "products:units", id) or "0"
  products[#products + 1] = redis.call("ZSCORE", ns .. "products:revenue", id) or "0"
  products[#products + 1] = redis.call("HGET", ns .. "names:products", id) or ""
end
reply[#reply + 1] = products

local minutes = {}
for _, m in ipairs(redis.call("ZRANGE", ns .. "minutes", 0, -1)) do
  minutes[#minutes + 1] = m
  minutes[#minutes + 1] = redis.call("HGETALL", ns .. "minute:" .. m)
end
reply[#reply + 1] = minutes
return reply
