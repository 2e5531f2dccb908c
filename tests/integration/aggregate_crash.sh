#!/usr/bin/env bash
# The aggregator killed with SIGKILL at random points of a backfill, five times, each time
# restarted: the counters end exactly equal to the manifest and `ecom verify` exits 0. Small
# batches make many commits, so the kills land between, before and inside batch applications.
# Each kill comes once the counters hold a random share of the messages (round r: between r and
# r + 1 sevenths), however fast the machine, and the test insists that several kills really
# interrupted the work half-way.
source "$(dirname "$0")/lib.sh"

test_setup aggcrash aggregate_crash
# static membership: a restarted aggregator takes its partitions back at once instead of waiting
# for the killed member's session to expire
agg=(--topic-prefix "$prefix" --group "$db-agg" --batch-size 100 --batch-ms 100
     -X "group.instance.id=$db-agg-1")

"$ECOM_BIN" init --topic-prefix "$prefix"
"$ECOM_BIN" generate --seed 41 --scale 0.01 --end 2025-06-01 --topic-prefix "$prefix" \
  --manifest "$tmp/manifest.json"
total=$(kcat -b "$ECOM_BROKERS" -C -t "${prefix}transactions" -e -q -o beginning | wc -l)
total=$((total + $(kcat -b "$ECOM_BROKERS" -C -t "${prefix}session_events" -e -q -o beginning | wc -l)))

# the sinks fill MongoDB and HBase meanwhile, for verify at the end
"$ECOM_BIN" sink mongo "${stores[@]}" --group "$db-mongo" --until-end 2>"$tmp/mongo.log" &
mongo=$!
"$ECOM_BIN" sink hbase "${stores[@]}" --group "$db-hbase" --until-end 2>"$tmp/hbase.log" &
hbase=$!

applied() { # messages the counters include: the sum of the stored offsets
  local gen
  gen=$(redis-cli GET "${prefix}current")
  [ -n "$gen" ] || { echo 0; return; }
  redis-cli HVALS "${prefix}g${gen}:offsets" | awk '{s += $1} END {print s + 0}'
}

halfway=0
for round in 1 2 3 4 5; do
  target=$(python3 -c "import random; print(int($total * ($round + random.random()) / 7))")
  "$ECOM_BIN" aggregate "${agg[@]}" 2>>"$tmp/aggregate.log" &
  pid=$!
  while [ "$(applied)" -lt "$target" ] && kill -0 "$pid" 2>/dev/null; do sleep 0.02; done
  kill -KILL "$pid"
  wait "$pid" 2>/dev/null || true
  n=$(applied)
  echo "round $round: killed with $n of $total messages counted"
  if [ "$n" -gt 0 ] && [ "$n" -lt "$total" ]; then halfway=$((halfway + 1)); fi
done
[ "$halfway" -ge 2 ] || fail "only $halfway kill(s) interrupted the backfill half-way; the test proves nothing"
echo "ok: $halfway of 5 kills interrupted the backfill half-way"

"$ECOM_BIN" aggregate "${agg[@]}" --until-end 2>>"$tmp/aggregate.log" ||
  { tail -20 "$tmp/aggregate.log"; fail "the final aggregate run failed"; }
expect_eq "messages counted after the restarts" "$total" "$(applied)"
"$ECOM_BIN" aggregate --snapshot --topic-prefix "$prefix" >"$tmp/snapshot.json"
metrics_equal "$tmp/manifest.json" "$tmp/snapshot.json" "after five kills every counter equals the manifest"
python3 - "$tmp/manifest.json" <<'PY' || fail "the manifest lacks the minute series or the segments: the comparison proves nothing for them"
import json, sys
m = json.load(open(sys.argv[1]))
assert len(m["minutes"]) > 100, len(m["minutes"])
assert all(m["segments"][d] for d in ("device", "referrer", "country"))
assert m["active_sessions"] == 0
print(f"ok: the comparison covers {len(m['minutes'])} minutes, every segment and active_sessions")
PY

wait_ok $mongo "$tmp/mongo.log" "sink mongo"
wait_ok $hbase "$tmp/hbase.log" "sink hbase"
"$ECOM_BIN" verify "${stores[@]}" --manifest "$tmp/manifest.json" >"$tmp/verify.txt" 2>&1 ||
  { cat "$tmp/verify.txt"; fail "verify after the kills exited non-zero"; }
tail -1 "$tmp/verify.txt"
grep -q "manifest vs redis: all metrics equal" "$tmp/verify.txt" || fail "verify did not compare with the manifest"
echo "ok: verify exits 0 after the kills"
