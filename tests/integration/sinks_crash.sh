#!/usr/bin/env bash
# kill -9 of a sink in the middle of a backfill, then a restart, ends with exactly the stores an
# uninterrupted run gives: every document and every cell (with its timestamp) the same.
source "$(dirname "$0")/lib.sh"
: "${STORE_CENSUS:?set by ctest}"

test_setup crash
ref=$(unique_name crash_ref)
hit=$(unique_name crash_hit)
"$ECOM_BIN" init --topic-prefix "$prefix"
"$ECOM_BIN" generate --seed 31 --scale 0.01 --end 2025-06-01 --topic-prefix "$prefix"

# sink mongo|hbase NAME [args] &: a run into database/table NAME with group NAME-kind. Only ever
# started in the background: exec makes $! the sink itself, so kill -9 hits the sink.
sink() {
  local kind=$1 name=$2
  shift 2
  exec "$ECOM_BIN" sink "$kind" --topic-prefix "$prefix" --mongo-db "$name" --hbase-table "$name" \
    --group "$name-$kind" "$@"
}

# the reference: uninterrupted
sink mongo "$ref" --batch-size 200 --until-end 2>"$tmp/ref-mongo.log" & m=$!
sink hbase "$ref" --until-end 2>"$tmp/ref-hbase.log" & h=$!
wait_ok $m "$tmp/ref-mongo.log" "reference sink mongo"
wait_ok $h "$tmp/ref-hbase.log" "reference sink hbase"

# the same, killed hard twice along the way, then run to the end
kills=0
# kill_9 PID WHAT: SIGKILL, counted only when it hit the running sink (status 137), not one
# that had already finished by itself
kill_9() {
  local status=0
  kill -9 "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || status=$?
  if [ "$status" -eq 137 ]; then kills=$((kills + 1)); else echo "note: $2 had already ended ($status)"; fi
}
transactions_in() { "$STORE_CENSUS" --no-hbase --mongo-db "$hit" | json_get /dev/stdin "d['mongo']['transactions']['count']"; }
seen=0
for round in 1 2; do # each time, kill as soon as more transactions were written than before
  # small batches, each written and committed on its own, keep the run long enough to kill
  sink mongo "$hit" --batch-size 20 --until-end 2>>"$tmp/hit-mongo.log" & m=$!
  for _ in $(seq 200); do
    n=$(transactions_in)
    [ "$n" -gt "$seen" ] && break
    sleep 0.05
  done
  kill_9 $m "sink mongo round $round"
  seen=$(transactions_in)
  echo "ok: sink mongo killed with $seen transactions written"
done
# HBase takes a whole backfill in a few seconds; batches of 50 events (one write each) make the
# run long enough to be killed twice along the way
for delay in 2 4; do
  sink hbase "$hit" --batch-size 50 --until-end 2>>"$tmp/hit-hbase.log" & h=$!
  sleep "$delay"
  kill_9 $h "sink hbase after $delay s"
done
echo "ok: $kills sink processes killed with SIGKILL mid-run"
[ "$kills" -ge 3 ] || fail "the sinks finished before they could be killed; the test proves nothing"
sink mongo "$hit" --until-end 2>>"$tmp/hit-mongo.log" & m=$!
sink hbase "$hit" --until-end 2>>"$tmp/hit-hbase.log" & h=$!
wait_ok $m "$tmp/hit-mongo.log" "restarted sink mongo"
wait_ok $h "$tmp/hit-hbase.log" "restarted sink hbase"

"$STORE_CENSUS" --mongo-db "$ref" --hbase-table "$ref" >"$tmp/ref.json"
"$STORE_CENSUS" --mongo-db "$hit" --hbase-table "$hit" >"$tmp/hit.json"
cmp -s "$tmp/ref.json" "$tmp/hit.json" || { diff "$tmp/ref.json" "$tmp/hit.json"; fail "a crashed run differs from an uninterrupted one"; }
expect_eq "HBase rows after crashes" "$(census_field "$tmp/ref.json" "['hbase']['rows']")" \
  "$(census_field "$tmp/hit.json" "['hbase']['rows']")"
echo "ok: after kill -9 and restart, MongoDB and HBase equal an uninterrupted run exactly"
