#!/usr/bin/env bash
# A store that is down for a while delays a sink or the aggregator but loses nothing: each logs
# that it is retrying, keeps its place, and once the store is back everything is written. Redis
# is killed with SIGKILL, so it comes back from its append-only file possibly without its last
# writes: the aggregator must notice its counters moved back and count those messages again.
source "$(dirname "$0")/lib.sh"
: "${STORE_CENSUS:?set by ctest}"

test_setup outage
"$ECOM_BIN" init --topic-prefix "$prefix"
"$ECOM_BIN" generate --seed 41 --scale 0.002 --end 2025-06-01 --topic-prefix "$prefix" \
  --manifest "$tmp/manifest.json"
trap '"$ECOM_STACK" up >/dev/null 2>&1 || true' EXIT # leave the stack whole whatever happens

# MongoDB (FerretDB) down before the sink starts, back 8 seconds later
kill -9 "$(stack_pid ferretdb)"
"$ECOM_BIN" sink mongo "${stores[@]}" --group "$name-m" --until-end 2>"$tmp/mongo.log" & m=$!
sleep 8
kill -0 $m 2>/dev/null || { tail "$tmp/mongo.log"; fail "sink mongo gave up while MongoDB was down"; }
"$ECOM_STACK" up >/dev/null
wait_ok $m "$tmp/mongo.log" "sink mongo"
grep -q 'msg="unavailable, keeping position and retrying"' "$tmp/mongo.log" ||
  fail "sink mongo did not say it was retrying"
echo "ok: sink mongo logged the outage and waited"

# HBase's Thrift2 server (what the sink writes through) down in the middle of the run, back 8
# seconds later. A batch is a few calls whatever it holds, so tiny batches keep the run going
# for many seconds; the server is killed a second after the sink got its partitions.
"$ECOM_BIN" sink hbase "${stores[@]}" --group "$name-h" --until-end --batch-size 10 \
  2>"$tmp/hbase.log" & h=$!
for _ in $(seq 300); do
  grep -q 'msg="partitions assigned"' "$tmp/hbase.log" && break
  sleep 0.1
done
sleep 1
kill -9 "$(stack_pid thrift2)"
sleep 8
kill -0 $h 2>/dev/null || { tail "$tmp/hbase.log"; fail "sink hbase exited while HBase was down"; }
"$ECOM_STACK" up >/dev/null
wait_ok $h "$tmp/hbase.log" "sink hbase"
grep -q 'msg="unavailable, keeping position and retrying"' "$tmp/hbase.log" ||
  fail "sink hbase did not say it was retrying"
echo "ok: sink hbase logged the outage and waited"

"$STORE_CENSUS" --mongo-db "$name" --hbase-table "$name" >"$tmp/census.json"
m="$tmp/manifest.json"
for coll in users categories products transactions; do
  expect_eq "MongoDB $coll after the outage" "$(json_get "$m" "d['counts']['$coll']")" \
    "$(census_field "$tmp/census.json" "['mongo']['$coll']['count']")"
done
expect_eq "HBase rows after the outage" "$(json_get "$m" "d['counts']['sessions']")" \
  "$(census_field "$tmp/census.json" "['hbase']['rows']")"
expect_eq "HBase converted after the outage" "$(json_get "$m" "d['funnel']['total']['converted']")" \
  "$(census_field "$tmp/census.json" "['hbase']['converted']")"

# Redis killed in the middle of the aggregator's run (once its counters hold a quarter of the
# messages, however fast the machine; tiny batches keep the run going), back 6 seconds later
facts=$(( $(kcat -b "$ECOM_BROKERS" -C -t "${prefix}transactions" -e -q -o beginning | wc -l) +
  $(kcat -b "$ECOM_BROKERS" -C -t "${prefix}session_events" -e -q -o beginning | wc -l) ))
counted() { # messages the live generation includes: the sum of its stored offsets
  local gen
  gen=$(redis-cli GET "${prefix}current")
  [ -n "$gen" ] || { echo 0; return; }
  redis-cli HVALS "${prefix}g${gen}:offsets" | awk '{s += $1} END {print s + 0}'
}
"$ECOM_BIN" aggregate --topic-prefix "$prefix" --group "$name-a" --until-end --batch-size 5 \
  --batch-ms 50 2>"$tmp/aggregate.log" & a=$!
while [ "$(counted)" -lt $((facts / 4)) ] && kill -0 $a 2>/dev/null; do sleep 0.02; done
kill -0 $a 2>/dev/null || fail "the aggregator finished before Redis was killed; the test proves nothing"
kill -9 "$(stack_pid redis)"
sleep 6
kill -0 $a 2>/dev/null || { tail "$tmp/aggregate.log"; fail "the aggregator exited while Redis was down"; }
"$ECOM_STACK" up >/dev/null
wait_ok $a "$tmp/aggregate.log" "ecom aggregate"
grep -q 'msg="unavailable, keeping position and retrying"' "$tmp/aggregate.log" ||
  fail "the aggregator did not say it was retrying"
echo "ok: the aggregator logged the outage and waited"
"$ECOM_BIN" aggregate --snapshot --topic-prefix "$prefix" >"$tmp/snapshot.json"
metrics_equal "$tmp/manifest.json" "$tmp/snapshot.json" "after the Redis outage every counter equals the manifest"
