#!/usr/bin/env bash
# The aggregator decides a session's first-seen bits from its own copy of them and sends Redis
# only the bytes a batch changes, each with the bytes it expects there. A bit another writer set
# after the copy was read (here set with redis-cli, as another group member would) is found, not
# overwritten: the aggregator says the bits changed, reads them again, and the funnel step that
# other writer counted is not counted a second time, while the rest of the event still counts.
# Then two members of one group count a backfill side by side, each writing its own partitions'
# sessions into the same blocks (small batches, so their writes interleave): the counters end
# equal to the generator's manifest.
source "$(dirname "$0")/lib.sh"

test_setup sharedbits aggregate_shared_bits
"$ECOM_BIN" init --topic-prefix "$prefix" >/dev/null
"$ECOM_BIN" generate --seed 5 --scale 0.0005 --end 2025-06-01 --output "$tmp/gen.ndjson"
ndjson_split "$tmp/gen.ndjson" "$tmp/split"
# a session's start, and its first product page view; its field's key and the viewed step's bit
read -r session key bit < <(python3 - "$tmp/split"/*session_events "$tmp" <<'PY'
import json, sys
src, out = sys.argv[1:3]
starts = {}
for line in open(src):
    key, value = line.rstrip("\n").split("\t", 1)
    e = json.loads(value)
    if e["type"] == "session_start":
        starts[e["session_id"]] = line
    elif e["type"] == "page_view" and e["page_type"] == "product_detail" and e["session_id"] in starts:
        open(out + "/start", "w").write(starts[e["session_id"]])
        open(out + "/view", "w").write(line)
        digits = e["session_id"].rsplit("_", 1)[1]
        # 24 bits per session at slot (the last four digits) * 24; the viewed step is bit 1
        print(e["session_id"], "seen:session:" + digits[:-4], int(digits[-4:]) * 24 + 1)
        break
PY
)
[ -n "$bit" ] || fail "the generated data has no session with a product page view"

publish() { # publish FILE
  kcat -P -b "$ECOM_BROKERS" -t "${prefix}session_events" -K $'\t' -l "$1" ||
    fail "kcat could not publish to ${prefix}session_events"
}
records() { # the session events the counters include
  local gen
  gen=$(redis-cli GET "${prefix}current")
  [ -n "$gen" ] || { echo 0; return; }
  n=$(redis-cli HGET "${prefix}g${gen}:pipeline" "${prefix}session_events:records")
  echo "${n:-0}"
}
wait_records() { # wait_records N
  for _ in $(seq 300); do
    [ "$(records)" -ge "$1" ] && return
    kill -0 "$agg" 2>/dev/null || { tail -20 "$tmp/aggregate.log"; fail "ecom aggregate exited"; }
    sleep 0.1
  done
  tail -20 "$tmp/aggregate.log"
  fail "the counters did not reach $1 session events in 30 s"
}

"$ECOM_BIN" aggregate --topic-prefix "$prefix" --group "$name" 2>"$tmp/aggregate.log" &
agg=$!
trap 'kill $agg 2>/dev/null || true' EXIT
publish "$tmp/start"
wait_records 1
gen=$(redis-cli GET "${prefix}current")
expect_eq "sessions after the start of $session" 1 "$(redis-cli HGET "${prefix}g${gen}:counts" sessions)"

# another writer counts the session's product view, after the aggregator read its bits
expect_eq "the viewed bit before the other writer" 0 "$(redis-cli SETBIT "${prefix}g${gen}:$key" "$bit" 1)"
publish "$tmp/view"
wait_records 2
kill -TERM $agg
wait $agg || { tail -20 "$tmp/aggregate.log"; fail "ecom aggregate exited non-zero on SIGTERM"; }
trap - EXIT

grep -q "session bits changed by another writer; reading them again" "$tmp/aggregate.log" ||
  { tail -20 "$tmp/aggregate.log"; fail "the aggregator did not notice the bits had changed"; }
viewed=$(redis-cli HGET "${prefix}g${gen}:funnel" total:viewed)
expect_eq "product views counted by the aggregator (the other writer had the bit)" 0 "${viewed:-0}"
expect_eq "the viewed bit after the aggregator wrote" 1 "$(redis-cli GETBIT "${prefix}g${gen}:$key" "$bit")"
expect_eq "sessions after the view" 1 "$(redis-cli HGET "${prefix}g${gen}:counts" sessions)"
minute=$(python3 -c 'import json,sys,datetime as dt; e=json.loads(open(sys.argv[1]).read().split("\t",1)[1]); print(int(dt.datetime.strptime(e["ts"][:16],"%Y-%m-%dT%H:%M").replace(tzinfo=dt.timezone.utc).timestamp())//60)' "$tmp/view")
expect_eq "the view's page views in its minute" 1 "$(redis-cli HGET "${prefix}g${gen}:minute:$minute" page_views)"

# ---- two members, one backfill ------------------------------------------------------------------
pair="${prefix}pair." # topics and counters of their own
"$ECOM_BIN" init --topic-prefix "$pair" >/dev/null
"$ECOM_BIN" generate --seed 9 --scale 0.005 --end 2025-06-01 --topic-prefix "$pair" \
  --manifest "$tmp/manifest.json"
members=(--topic-prefix "$pair" --redis-prefix "$pair" --group "$name-pair" --until-end
         --batch-size 200)
"$ECOM_BIN" aggregate "${members[@]}" 2>"$tmp/member1.log" &
one=$!
"$ECOM_BIN" aggregate "${members[@]}" 2>"$tmp/member2.log" &
two=$!
wait_ok $one "$tmp/member1.log" "the first member"
wait_ok $two "$tmp/member2.log" "the second member"
for m in 1 2; do
  grep -q "partitions assigned.* count=[1-9]" "$tmp/member$m.log" ||
    fail "member $m was never given partitions; the test proves nothing"
done
"$ECOM_BIN" aggregate --snapshot --redis-prefix "$pair" >"$tmp/pair.json" ||
  fail "ecom aggregate --snapshot failed"
metrics_equal "$tmp/manifest.json" "$tmp/pair.json" "two members' counters equal the manifest"
echo "(stale copies found: $(cat "$tmp"/member?.log | grep -c "session bits changed by another writer" || true))"
rm -f "$tmp/gen.ndjson"
