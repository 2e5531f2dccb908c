#!/usr/bin/env bash
# `ecom aggregate --rebuild` while the live aggregator runs and live traffic flows:
#   - a reader polling the snapshot throughout never sees a total go down, and sees the
#     generation change exactly once;
#   - a rebuild killed half-way resumes its generation when started again;
#   - the old generation's keys are gone afterwards, the live aggregator carries on in the new
#     one, and `ecom verify` exits 0 once everything is caught up.
source "$(dirname "$0")/lib.sh"

test_setup aggrebuild aggregate_rebuild
agg=(--topic-prefix "$prefix" --group "$db-agg")
pids=()
cleanup() { for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

"$ECOM_BIN" init --topic-prefix "$prefix"
"$ECOM_BIN" generate --seed 51 --scale 0.005 --end 2025-06-01 --topic-prefix "$prefix"
transactions=$(kcat -b "$ECOM_BROKERS" -C -t "${prefix}transactions" -e -q -o beginning | wc -l)

# the live aggregator, caught up with the backfill
"$ECOM_BIN" aggregate "${agg[@]}" 2>"$tmp/live.log" &
live=$!
pids+=($live)
for _ in $(seq 1 120); do
  n=$("$ECOM_BIN" aggregate --snapshot --topic-prefix "$prefix" 2>/dev/null |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["counts"]["transactions"])' 2>/dev/null || echo 0)
  [ "$n" = "$transactions" ] && break
  sleep 0.5
done
expect_eq "the live aggregator caught up" "$transactions" "$n"
first_gen=$(redis-cli GET "${prefix}current")
counted() { # messages generation $1 includes: the sum of its stored offsets
  redis-cli HVALS "${prefix}g$1:offsets" | awk '{s += $1} END {print s + 0}'
}
backfill=$(counted "$first_gen")

# a reader polling the counters the whole time
python3 - "$ECOM_BIN" "$prefix" "$tmp/polls.txt" "$tmp/stop" <<'PY' &
import json, os, subprocess, sys, time
ecom, prefix, out, stop = sys.argv[1:5]
with open(out, "w") as f:
    while not os.path.exists(stop):
        r = subprocess.run([ecom, "aggregate", "--snapshot", "--topic-prefix", prefix],
                           capture_output=True, text=True)
        if r.returncode == 0:
            s = json.loads(r.stdout)
            totals = [s["pipeline"]["generation"], s["counts"]["transactions"], s["counts"]["sessions"],
                      s["funnel"]["total"]["viewed"], s["funnel"]["total"]["carted"],
                      s["funnel"]["total"]["converted"],
                      sum(d["revenue_cents"] for d in s["daily_sales"]),
                      sum(d["orders"] for d in s["daily_sales"]),
                      sum(c["users"] for c in s["cohorts"])]
            f.write(" ".join(map(str, totals)) + "\n")
            f.flush()
        time.sleep(0.05)
PY
reader=$!
pids+=($reader)

# live traffic during the rebuild
"$ECOM_BIN" generate --mode live --rate 1500 --limit 30000 --seed 51 --scale 0.005 \
  --topic-prefix "$prefix" 2>"$tmp/live-generate.log" &
traffic=$!
pids+=($traffic)
sleep 2

# a rebuild killed half-way (once it holds a third of the backfill, however fast the machine),
# then started again: it resumes the same generation
"$ECOM_BIN" aggregate "${agg[@]}" --rebuild --batch-size 200 2>"$tmp/rebuild1.log" &
rebuild=$!
for _ in $(seq 1 3000); do
  gen=$(redis-cli GET "${prefix}rebuilding")
  if [ -n "$gen" ] && [ "$(counted "$gen")" -ge $((backfill / 3)) ]; then break; fi
  kill -0 $rebuild 2>/dev/null || break
  sleep 0.02
done
kill -KILL $rebuild
wait $rebuild 2>/dev/null || true
rebuilding=$(redis-cli GET "${prefix}rebuilding")
[ -n "$rebuilding" ] || fail "no rebuild was in progress when it was killed"
# its lock lease outlives it; a second rebuild says so instead of running beside it
if "$ECOM_BIN" aggregate "${agg[@]}" --rebuild 2>"$tmp/rebuild-refused.log"; then
  fail "a second rebuild ran while the first one's lock was held"
fi
grep -q "another rebuild is running" "$tmp/rebuild-refused.log" || fail "the refusal does not say why"
echo "ok: a second rebuild is refused while the lock is held"
redis-cli DEL "${prefix}rebuild_lock" >/dev/null # as if its lease had expired
# poison published all through the resumed rebuild, one message at a time (each delivered before
# the next): the first before it starts, so it has dead letters to count, and more while it
# runs, which its catch-up after the freeze usually meets
publish_poison() {
  local n=0
  while [ ! -e "$tmp/poison.stop" ]; do
    n=$((n + 1))
    printf 'txn_poison_%d\t{not json\n' "$n" |
      kcat -P -b "$ECOM_BROKERS" -t "${prefix}transactions" -K $'\t' || return 1
    echo "$n" >"$tmp/poison"
  done
}
publish_poison &
poisoner=$!
pids+=($poisoner)
for _ in $(seq 1 100); do [ -s "$tmp/poison" ] && break; sleep 0.1; done
[ -s "$tmp/poison" ] || fail "no poison was published"
"$ECOM_BIN" aggregate "${agg[@]}" --rebuild 2>"$tmp/rebuild2.log" ||
  { tail -20 "$tmp/rebuild2.log"; fail "the rebuild failed"; }
touch "$tmp/poison.stop"
wait $poisoner || fail "kcat could not publish the poison"
grep -q "resuming an interrupted rebuild.*generation=$rebuilding" "$tmp/rebuild2.log" ||
  fail "the second rebuild did not resume generation $rebuilding"
grep -q "readers switched to the rebuilt generation" "$tmp/rebuild2.log" || fail "the rebuild did not switch"
expect_eq "the current generation after the rebuild" "$rebuilding" "$(redis-cli GET "${prefix}current")"
expect_eq "keys left of the old generation $first_gen" 0 \
  "$(redis-cli --scan --pattern "${prefix}g${first_gen}:*" | wc -l)"
# the closing line counts every pass of the rebuild: the first, and each catch-up after freezing
python3 - "$tmp/rebuild2.log" "$(cat "$tmp/poison")" <<'PY' || fail "the rebuild's closing line does not add up its passes"
import re, sys
lines = open(sys.argv[1]).read().splitlines()
poison = int(sys.argv[2])
fields = lambda line: dict(re.findall(r'(\w+)=("[^"]*"|\S+)', line))
passes = [fields(l) for l in lines if 'msg="finished"' in l and 'service="aggregate --rebuild"' in l]
closing = [fields(l) for l in lines if 'msg="rebuild finished"' in l]
assert len(closing) == 1, f"{len(closing)} closing lines"
total = closing[0]
assert len(passes) >= 2, f"{len(passes)} passes: the catch-up after freezing is missing"
for name, per_pass in [("consumed", "consumed"), ("records", "stored"), ("dead_letters", "dead_letters"),
                       ("batches", "batches"), ("rewinds", "rewinds")]:
    want = sum(int(p[per_pass]) for p in passes)
    assert int(total[name]) == want, f"{name}={total[name]}, the passes add up to {want}"
seconds = sum(float(p["seconds"]) for p in passes)
assert abs(float(total["seconds"]) - seconds) <= 0.05 * (len(passes) + 1), \
    f"seconds={total['seconds']}, the passes add up to {seconds:.2f}"
late = sum(int(p["dead_letters"]) for p in passes[1:])
assert 1 <= int(total["dead_letters"]) <= poison, \
    f"dead_letters={total['dead_letters']}, {poison} published, the first before the rebuild"
moved = sum('msg="store position moved' in l for l in lines)
assert int(total["rewinds"]) == moved, f"rewinds={total['rewinds']}, {moved} logged"
print(f"ok: the rebuild's closing line adds up its {len(passes)} passes "
      f"(dead_letters={total['dead_letters']}, {late} of them after the freeze; "
      f"rewinds={total['rewinds']} seconds={total['seconds']})")
PY

wait_ok $traffic "$tmp/live-generate.log" "the live generator"
# more traffic after the switch: the live aggregator must carry on in the new generation
"$ECOM_BIN" generate --mode live --rate 2000 --limit 3000 --seed 51 --scale 0.005 \
  --topic-prefix "$prefix" 2>>"$tmp/live-generate.log" || fail "the second live generator failed"
sleep 3
touch "$tmp/stop"
wait $reader
python3 - "$tmp/polls.txt" "$first_gen" "$rebuilding" <<'PY' || fail "a reader saw a total go down"
import sys
rows = [list(map(int, l.split())) for l in open(sys.argv[1]) if l.strip()]
first, rebuilt = int(sys.argv[2]), int(sys.argv[3])
names = ["transactions", "sessions", "viewed", "carted", "converted", "revenue", "orders", "cohort users"]
for a, b in zip(rows, rows[1:]):
    for i, name in enumerate(names, 1):
        if b[i] < a[i]:
            sys.exit(f"{name} went down from {a[i]} to {b[i]} (generation {a[0]} -> {b[0]})")
gens = [r[0] for r in rows]
switches = [(a, b) for a, b in zip(gens, gens[1:]) if a != b]
assert switches == [(first, rebuilt)], f"generation changes seen: {switches}"
print(f"ok: {len(rows)} polls, totals never went down, one switch {first} -> {rebuilt}")
PY

# the live aggregator followed the switch: stop it, finish the tail, fill the stores, verify
kill -TERM $live
wait_ok $live "$tmp/live.log" "the live aggregator"
grep -q "readers switched generations; continuing in the new one" "$tmp/live.log" ||
  fail "the live aggregator did not follow the switch"
"$ECOM_BIN" aggregate "${agg[@]}" --until-end 2>"$tmp/tail.log" || fail "aggregate --until-end failed"
sinks_until_end "$tmp" "$db" "${stores[@]}"
"$ECOM_BIN" verify "${stores[@]}" >"$tmp/verify.txt" 2>&1 || { cat "$tmp/verify.txt"; fail "verify exited non-zero"; }
tail -1 "$tmp/verify.txt"
echo "ok: verify exits 0 after the rebuild"

# counters written by an older version (a generation that applied batches without a layout
# key): refused with an error that names the way out, which then works
old=$(redis-cli GET "${prefix}current")
redis-cli DEL "${prefix}g${old}:layout" >/dev/null
status=0
"$ECOM_BIN" aggregate "${agg[@]}" --until-end 2>"$tmp/old-layout.log" || status=$?
expect_eq "aggregate's exit status on counters in an older layout" 1 "$status"
grep -q "generation $old keeps its first-seen bits in an older layout; \`ecom aggregate --rebuild\` recomputes every counter into a new generation" "$tmp/old-layout.log" ||
  { cat "$tmp/old-layout.log"; fail "the error does not name the older layout and --rebuild"; }
"$ECOM_BIN" aggregate --rebuild "${agg[@]}" 2>"$tmp/rebuild-old-layout.log" ||
  { tail "$tmp/rebuild-old-layout.log"; fail "the rebuild of counters in an older layout failed"; }
new=$(redis-cli GET "${prefix}current")
expect_eq "the rebuilt generation's layout" 2 "$(redis-cli GET "${prefix}g${new}:layout")"
"$ECOM_BIN" aggregate "${agg[@]}" --until-end 2>"$tmp/after-old-layout.log" ||
  fail "aggregate after the rebuild of an older layout failed"
"$ECOM_BIN" verify "${stores[@]}" >"$tmp/verify-old-layout.txt" 2>&1 ||
  { cat "$tmp/verify-old-layout.txt"; fail "verify after the rebuild of an older layout exited non-zero"; }
echo "ok: counters in an older layout are refused with the way out, and --rebuild recomputes them"
