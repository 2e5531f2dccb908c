-- products.lua: every product of the generation readers use, read in one atomic step.
--
-- The products report lists every product, not only the ranked few of read.lua, so it takes the
-- whole of both rankings and the names in one call: nothing else runs meanwhile, so the units,
-- revenue and names all come from the same generation and the same applied batches. Joining
-- them is left to the caller; the script only gathers (a handful of commands whatever the
-- number of products).
--
-- ARGV: prefix.
-- Reply: {generation, units, revenue, product names, product categories, category names}:
-- units and revenue as ZRANGE ... WITHSCORES replies, the others as HGETALL replies. {} when
-- there is no generation yet.

local prefix = ARGV[1]
local gen = redis.call("GET", prefix .. "current")
if not gen then return {} end
local ns = prefix .. "g" .. gen .. ":"

return {gen,
        redis.call("ZRANGE", ns .. "products:units", 0, -1, "WITHSCORES"),
        redis.call("ZRANGE", ns .. "products:revenue", 0, -1, "WITHSCORES"),
        redis.call("HGETALL", ns .. "names:products"),
        redis.call("HGETALL", ns .. "categories:products"),
        redis.call("HGETALL", ns .. "names:categories")}
