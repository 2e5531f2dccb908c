-- lease.lua: renews or releases a lock held with SET key token NX PX, only by its holder.
-- ARGV: key, token, "renew" | "release", lease in ms. Reply: 1 when it was the holder's, else 0.

local key, token, action, ms = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
if redis.call("GET", key) ~= token then return 0 end
if action == "release" then
  redis.call("DEL", key)
else
  redis.call("PEXPIRE", key, ms)
end
return 1
