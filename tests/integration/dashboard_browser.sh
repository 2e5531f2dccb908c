#!/usr/bin/env bash
# The dashboard against the real stack, as a person would use it:
#   - its HTTP API: the metrics equal what Redis holds (`ecom aggregate --snapshot`), /metrics in
#     Prometheus format with the same totals, a bad user id refused with 400 and the reason,
#     security headers and content types on every response, /healthz;
#   - in headless Chromium (tests/browser/dashboard.mjs): no console errors, every chart shows
#     Redis' numbers, an event published while the page is open shows within 2 s without a
#     reload, the user search shows that user's sessions; the last 2 hours by minute and the
#     active now tile equal Redis and move within 2 s of a session and an order published now,
#     the segment switch shows Redis' funnel and revenue per device, referrer and country, a
#     range brushed on the daily chart adds up Redis' days; a screenshot is saved.
source "$(dirname "$0")/lib.sh"
: "${ECOM_BROWSER_TEST:?set by ctest: tests/browser/dashboard.mjs}"

test_setup dash dashboard_browser
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
url="http://127.0.0.1:$port"
pids=()
cleanup() { for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

"$ECOM_BIN" init "${stores[@]}"
"$ECOM_BIN" generate --seed 61 --scale 0.005 --end 2025-06-01 --topic-prefix "$prefix"
sinks_until_end "$tmp" "$db" "${stores[@]}"

# the live services: aggregator and dashboard
"$ECOM_BIN" aggregate --topic-prefix "$prefix" --group "$db-agg" 2>"$tmp/aggregate.log" &
pids+=($!)
"$ECOM_BIN" dashboard "${stores[@]}" --listen "127.0.0.1:$port" \
  --groups "$db-mongo,$db-hbase,$db-agg" 2>"$tmp/dashboard.log" &
pids+=($!)
caught_up() { # the aggregator has applied every message of the fact topics
  python3 - "$1" "$prefix" <<'PY'
import json, sys
d, prefix = json.load(open(sys.argv[1])), sys.argv[2]
p = d["pipeline"]
topics = {t["topic"]: t["messages"] for t in p.get("topics", [])}
facts = [prefix + "transactions", prefix + "session_events"]
done = sum(p["aggregator"]["records"].get(t, 0) for t in facts)
sys.exit(0 if facts[0] in topics and done == sum(topics[t] for t in facts) else 1)
PY
}
for _ in $(seq 1 120); do
  curl -sf "$url/api/metrics.json" -o "$tmp/metrics.json" && caught_up "$tmp/metrics.json" && break
  sleep 0.5
done
caught_up "$tmp/metrics.json" || fail "the aggregator did not catch up within a minute"

# ---- the HTTP API ---------------------------------------------------------------------------------
"$ECOM_BIN" aggregate --snapshot --topic-prefix "$prefix" >"$tmp/snapshot.json"
python3 - "$tmp/snapshot.json" "$tmp/metrics.json" "$prefix" <<'PY' || fail "/api/metrics.json differs from Redis"
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
prefix = sys.argv[3]
pa, pb = a.pop("pipeline"), b.pop("pipeline")
assert a == b, [k for k in a if a[k] != b.get(k)]
assert pa["generation"] == pb["generation"]
topics = {t["topic"]: t for t in pb["topics"]}
assert topics[prefix + "transactions"]["messages"] == a["counts"]["transactions"], topics
assert [g["lag"] for g in pb["groups"]][:2] == [0, 0], pb["groups"]  # the sinks are caught up
print("ok: /api/metrics.json holds what Redis holds, and Kafka's pipeline figures")
PY
headers=$(curl -s -D - -o /dev/null "$url/")
for h in "Content-Type: text/html" "Content-Security-Policy: default-src 'self'" \
  "X-Content-Type-Options: nosniff" "X-Frame-Options: DENY"; do
  grep -qi "^$h" <<<"$headers" || fail "/ lacks the header '$h'"
done
echo "ok: the page is served with its content type and security headers"
curl -s -D "$tmp/bad.h" "$url/api/users/user_12%27%3B/sessions" -o "$tmp/bad.json"
expect_eq "status of a bad user id" 400 "$(head -1 "$tmp/bad.h" | cut -d' ' -f2)"
grep -q "is not a user id of the form user_000000" "$tmp/bad.json" || fail "a bad user id gets no reason"
curl -s "$url/metrics" >"$tmp/prometheus.txt"
expect_eq "/metrics ecom_orders_total" "$(json_get "$tmp/metrics.json" "d['counts']['transactions']")" \
  "$(awk '$1 == "ecom_orders_total" {print $2}' "$tmp/prometheus.txt")"
grep -q '^# TYPE ecom_consumer_lag gauge' "$tmp/prometheus.txt" || fail "/metrics has no consumer lag"
expect_eq "/healthz status" 200 "$(curl -s -o /dev/null -w '%{http_code}' "$url/healthz")"
expect_eq "status of an unknown path" 404 "$(curl -s -o /dev/null -w '%{http_code}' "$url/nope")"
expect_eq "status of a POST" 405 "$(curl -s -o /dev/null -w '%{http_code}' -X POST "$url/")"

# ---- in the browser -------------------------------------------------------------------------------
# the user with the most sessions, and what `ecom sessions` says about them
user=$(python3 - "$prefix" <<'PY'
import collections, json, subprocess, sys
out = subprocess.run(["kcat", "-b", "127.0.0.1:9092", "-C", "-t", sys.argv[1] + "session_events",
                      "-e", "-q", "-o", "beginning"], capture_output=True, text=True).stdout
n = collections.Counter(json.loads(l)["user_id"] for l in out.splitlines()
                        if '"type":"session_start"' in l)
print(n.most_common(1)[0][0])
PY
)
"$ECOM_BIN" sessions "$user" --hbase-table "$table" --json >"$tmp/sessions.json"
node "$ECOM_BROWSER_TEST" --url "$url" --ecom "$ECOM_BIN" --topic-prefix "$prefix" --seed 61 --scale 0.005 \
  --user "$user" --sessions "$tmp/sessions.json" --screenshot "$tmp/dashboard.png" ||
  { tail -5 "$tmp/dashboard.log"; fail "the browser test failed"; }
echo "ok: screenshot at $tmp/dashboard.png"
