#!/usr/bin/env bash
# The aggregator against real Kafka and Redis, checked by `ecom verify` against MongoDB and HBase:
#   - a small backfill through the sinks and the aggregator: verify exits 0, and every metric of
#     `ecom aggregate --snapshot` equals the generator's manifest;
#   - the same data published a second time changes no metric (the messages are read, the
#     counters do not move);
#   - late transactions and a late session for old days change only those days, and a poison
#     message is dead-lettered by the aggregator with its reason while nothing else changes;
#   - the minute series keeps the 1,440 minutes up to the newest: sessions that move the window
#     on, then events inside it published out of order, and events fallen out of it, end equal to
#     that definition recomputed from everything published, and a second publication of them
#     changes nothing; late events change no minute, and count in their session's segment;
#   - one corrupted counter makes verify exit 1 naming it; put back, verify exits 0 again.
source "$(dirname "$0")/lib.sh"
: "${STORE_CENSUS:?set by ctest}"

test_setup agg aggregate_roundtrip
gen=(--seed 31 --scale 0.005 --end 2025-06-01 --topic-prefix "$prefix")
group="$db-agg"

"$ECOM_BIN" init --topic-prefix "$prefix"
"$ECOM_BIN" generate "${gen[@]}" --manifest "$tmp/manifest.json"
"$ECOM_BIN" generate "${gen[@]}" --output "$tmp/gen.ndjson"

aggregate() { # runs the aggregator to the end of the topics
  "$ECOM_BIN" aggregate --topic-prefix "$prefix" --group "$group" --until-end 2>>"$tmp/aggregate.log" ||
    { tail -20 "$tmp/aggregate.log"; fail "ecom aggregate exited non-zero"; }
}

run_all() { # sinks and aggregator side by side, each to the end of the topics
  sinks_until_end "$tmp" "$db" "${stores[@]}" &
  local sinks=$!
  aggregate
  wait $sinks || fail "the sinks failed"
}

snapshot() { # snapshot FILE
  "$ECOM_BIN" aggregate --snapshot --topic-prefix "$prefix" >"$1" || fail "ecom aggregate --snapshot failed"
}

verify() { # verify OUTPUT [options]: the exit status, the output kept in OUTPUT
  local out=$1 rc=0
  shift
  "$ECOM_BIN" verify "${stores[@]}" "$@" >"$out" 2>&1 || rc=$?
  echo "$rc"
}

# ---- backfill: verify exits 0 and the counters equal the manifest -------------------------------
run_all
rc=$(verify "$tmp/verify1.txt" --manifest "$tmp/manifest.json")
cat "$tmp/verify1.txt"
expect_eq "verify exit status after the backfill" 0 "$rc"
grep -q "manifest vs redis: all metrics equal" "$tmp/verify1.txt" || fail "verify did not compare with the manifest"
snapshot "$tmp/snap1.json"
metrics_equal "$tmp/manifest.json" "$tmp/snap1.json" "every metric of the snapshot equals the manifest"
for kind in transactions sessions users products categories; do
  expect_eq "counts.$kind = manifest" "$(json_get "$tmp/manifest.json" "d['counts']['$kind']")" \
    "$(json_get "$tmp/snap1.json" "d['counts']['$kind']")"
done
python3 - "$tmp/snap1.json" <<'PY' || fail "the snapshot lacks the minute series, the segments or active_sessions"
import json, sys
s = json.load(open(sys.argv[1]))
assert s["minutes"] and all(any(r[k] for k in ("orders", "sessions", "page_views", "converted")) for r in s["minutes"])
assert s["active_sessions"] == 0, s["active_sessions"]
for dim in ("device", "referrer", "country"):
    rows = s["segments"][dim]
    assert rows and [r["key"] for r in rows] == sorted(r["key"] for r in rows), dim
    assert sum(r["sessions"] for r in rows) == s["counts"]["sessions"], dim
    assert sum(r["converted"] for r in rows) == s["funnel"]["total"]["converted"], dim
print(f"ok: {len(s['minutes'])} minutes, {len(s['segments']['device'])} devices, "
      f"{len(s['segments']['country'])} countries, active_sessions 0 after the backfill")
PY
expect_eq "transactions read once" "$(json_get "$tmp/manifest.json" "d['counts']['transactions']")" \
  "$(json_get "$tmp/snap1.json" "d['pipeline']['aggregator']['records']['${prefix}transactions']")"

# ---- the same data published twice: read again, counted once ------------------------------------
"$ECOM_BIN" generate "${gen[@]}"
aggregate
snapshot "$tmp/snap2.json"
metrics_equal "$tmp/snap1.json" "$tmp/snap2.json" "publishing everything twice changed no metric"
expect_eq "the second publication was read" \
  "$((2 * $(json_get "$tmp/manifest.json" "d['counts']['transactions']")))" \
  "$(json_get "$tmp/snap2.json" "d['pipeline']['aggregator']['records']['${prefix}transactions']")"

# ---- late events land on their own (old) day; a poison message is dead-lettered ----------------
python3 - "$tmp/gen.ndjson" "$prefix" "$tmp/late" <<'PY'
import json, sys, os, datetime as dt
src, prefix, out = sys.argv[1:4]
os.makedirs(out, exist_ok=True)
fmt = "%Y-%m-%dT%H:%M:%SZ"
def shift(t, days):
    return (dt.datetime.strptime(t, fmt) + dt.timedelta(days=days)).strftime(fmt)
txn, sessions, bought = None, {}, {}
for line in open(src):
    m = json.loads(line)
    topic, v = m["topic"][len(prefix):], m["value"]
    if topic == "transactions" and txn is None and v["session_id"] is None:
        txn = v
    if topic == "transactions" and v["session_id"]:
        bought[v["session_id"]] = v
    if topic == "session_events":
        sessions.setdefault(v["session_id"], []).append(v)
# a session that viewed a product, carted and converted: it touches every funnel step
def steps(evs):
    return (any(e["type"] == "page_view" and e["page_type"] == "product_detail" for e in evs),
            any(e["type"] == "cart_add" for e in evs),
            any(e["type"] == "session_end" and e["conversion_status"] == "converted" for e in evs))
sid, events = next((s, evs) for s, evs in sessions.items() if all(steps(evs)))
# a standalone transaction 20 days earlier, the session and its purchase 30 days earlier, new ids
late_txns = [dict(txn, transaction_id="txn_90000001", timestamp=shift(txn["timestamp"], -20)),
             dict(bought[sid], transaction_id="txn_90000002", session_id="sess_90000001",
                  timestamp=shift(bought[sid]["timestamp"], -30))]
late_session = []
for e in events:
    e = dict(e, session_id="sess_90000001", ts=shift(e["ts"], -30),
             start_time=shift(e["start_time"], -30))
    e["event_id"] = "sess_90000001-" + e["event_id"].split("-")[-1]
    if e["type"] == "session_end":
        e["transaction_id"] = "txn_90000002"
    late_session.append(e)
with open(os.path.join(out, "transactions"), "w") as f:
    for t in late_txns:
        f.write(t["user_id"] + "\t" + json.dumps(t, separators=(",", ":")) + "\n")
    f.write(txn["user_id"] + "\t" + '{"schema_version":1,"transaction_id":"txn_9' + "\n")  # poison
with open(os.path.join(out, "session_events"), "w") as f:
    for e in late_session:
        f.write(e["user_id"] + "\t" + json.dumps(e, separators=(",", ":")) + "\n")
days = {}
for t in late_txns:
    d = days.setdefault(t["timestamp"][:10], [0, 0, 0])
    d[0] += 1
    d[1] += t["total_cents"]
    d[2] += sum(i["quantity"] for i in t["items"])
json.dump({"days": days, "txn_day": late_txns[0]["timestamp"][:10],
           "session_day": late_session[0]["start_time"][:10],
           "segment": late_txns[1]["segment"], "session_revenue": late_txns[1]["total_cents"]},
          open(os.path.join(out, "expect.json"), "w"))
PY
for t in transactions session_events; do
  kcat -P -b "$ECOM_BROKERS" -t "${prefix}$t" -K $'\t' -l "$tmp/late/$t" || fail "kcat could not publish to ${prefix}$t"
done
run_all
snapshot "$tmp/snap3.json"
python3 - "$tmp/snap2.json" "$tmp/snap3.json" "$tmp/late/expect.json" <<'PY' || fail "late events changed the wrong days"
import json, sys
before, after, want = (json.load(open(p)) for p in sys.argv[1:4])
def by_day(rows):
    return {r["day"]: r for r in rows}
sb, sa = by_day(before["daily_sales"]), by_day(after["daily_sales"])
changed = sorted(d for d in set(sb) | set(sa) if sb.get(d) != sa.get(d))
assert changed == sorted(want["days"]), f"daily_sales changed on {changed}, expected {sorted(want['days'])}"
for day, (orders, revenue, units) in want["days"].items():
    d0, d1 = sb.get(day, {"orders": 0, "revenue_cents": 0, "units": 0}), sa[day]
    assert d1["orders"] == d0["orders"] + orders, (d0, d1)
    assert d1["revenue_cents"] == d0["revenue_cents"] + revenue, (d0, d1)
    assert d1["units"] == d0["units"] + units, (d0, d1)
fb, fa = by_day(before["funnel"]["by_day"]), by_day(after["funnel"]["by_day"])
changed = sorted(d for d in set(fb) | set(fa) if fb.get(d) != fa.get(d))
assert changed == [want["session_day"]], f"funnel changed on {changed}, expected {want['session_day']}"
none = {"viewed": 0, "carted": 0, "converted": 0}
for step in ("viewed", "carted", "converted"):
    assert fa[want["session_day"]][step] == fb.get(want["session_day"], none)[step] + 1, step
    assert after["funnel"]["total"][step] == before["funnel"]["total"][step] + 1, step
assert after["counts"]["transactions"] == before["counts"]["transactions"] + 2
assert after["counts"]["sessions"] == before["counts"]["sessions"] + 1
assert after["pipeline"]["aggregator"]["dead_letters"] == before["pipeline"]["aggregator"]["dead_letters"] + 1
assert after["minutes"] == before["minutes"], "events older than the minute window changed a minute"
seg = want["segment"]
for dim in ("device", "referrer", "country"):
    b = {r["key"]: r for r in before["segments"][dim]}[seg[dim]]
    a = {r["key"]: r for r in after["segments"][dim]}[seg[dim]]
    for k in ("sessions", "viewed", "carted", "converted", "orders"):
        assert a[k] == b[k] + 1, (dim, k, b, a)
    assert a["revenue_cents"] == b["revenue_cents"] + want["session_revenue"], (dim, b, a)
print(f"ok: the late transactions changed only {sorted(want['days'])}, the late session only "
      f"{want['session_day']}; the poison message was dead-lettered")
PY
kcat -C -b "$ECOM_BROKERS" -t "${prefix}dlq" -e -q -f '%h\n' >"$tmp/dlq.txt"
grep "consumer_group=$group" "$tmp/dlq.txt" | grep -q "source_topic=${prefix}transactions" ||
  { cat "$tmp/dlq.txt"; fail "the aggregator's dead letter is not in ${prefix}dlq"; }
grep "consumer_group=$group" "$tmp/dlq.txt" | grep -q "error=not valid JSON" ||
  fail "the aggregator's dead letter does not say why"
echo "ok: the aggregator's dead letter names its source and reason"

# ---- the minute window: moved on, then filled out of order; a second publication ---------------
python3 - "$tmp/gen.ndjson" "$prefix" "$tmp/late" "$tmp/window" <<'PY'
import json, sys, os, datetime as dt
src, prefix, late, out = sys.argv[1:5]
os.makedirs(out, exist_ok=True)
fmt = "%Y-%m-%dT%H:%M:%SZ"
def shift(t, minutes):
    return (dt.datetime.strptime(t, fmt) + dt.timedelta(minutes=minutes)).strftime(fmt)
sessions, bought, newest = {}, {}, ""
def note(v, kind):
    global newest
    if kind == "transactions":
        newest = max(newest, v["timestamp"])
    else:
        newest = max(newest, v["start_time"])
        if v["type"] == "page_view" or (v["type"] == "session_end" and v["conversion_status"] == "converted"):
            newest = max(newest, v["ts"])
for line in open(src):
    m = json.loads(line)
    topic, v = m["topic"][len(prefix):], m["value"]
    if topic in ("transactions", "session_events"):
        note(v, topic)
    if topic == "transactions" and v["session_id"]:
        bought[v["session_id"]] = v
    if topic == "session_events":
        sessions.setdefault(v["session_id"], []).append(v)
for t in ("transactions", "session_events"):
    for line in open(os.path.join(late, t)):
        try:
            note(json.loads(line.split("\t", 1)[1]), t)
        except ValueError:
            pass  # the poison message
converted = [s for s in sessions if s in bought]
def floor(t):
    return dt.datetime.strptime(t, fmt).replace(second=0)
def moved(k, number, target):  # session k with its start in minute `target`, new ids
    sid = converted[k]
    minutes = int((target - floor(sessions[sid][0]["start_time"])).total_seconds() // 60)
    new_sid, new_txn = f"sess_{number}", f"txn_{number}"
    evs = []
    for e in sessions[sid]:
        e = dict(e, session_id=new_sid, ts=shift(e["ts"], minutes), start_time=shift(e["start_time"], minutes))
        e["event_id"] = new_sid + "-" + e["event_id"].split("-")[-1]
        if e["type"] == "session_end":
            e["transaction_id"] = new_txn
        evs.append(e)
    t = bought[sid]
    return evs, dict(t, transaction_id=new_txn, session_id=new_sid, timestamp=shift(t["timestamp"], minutes))
# the first session moves the window 600 minutes on; then, published after it, one 100 minutes
# before the new newest with its events in reverse order, one fallen out of the window (1,500
# minutes before), and one that starts in the window's first minute
evs, txn = moved(0, 90000010, floor(newest) + dt.timedelta(minutes=600))
newest2 = floor(max([txn["timestamp"]] + [e["ts"] for e in evs]))
events, txns = list(evs), [txn]
for k, (number, before, reverse) in enumerate([(90000011, 100, True), (90000012, 1500, False),
                                               (90000013, 1439, False)], start=1):
    evs, txn = moved(k, number, newest2 - dt.timedelta(minutes=before))
    events += reversed(evs) if reverse else evs
    txns.append(txn)
with open(os.path.join(out, "transactions"), "w") as f:
    for t in txns:
        f.write(t["user_id"] + "\t" + json.dumps(t, separators=(",", ":")) + "\n")
with open(os.path.join(out, "session_events"), "w") as f:
    for e in events:
        f.write(e["user_id"] + "\t" + json.dumps(e, separators=(",", ":")) + "\n")
PY
publish_window() {
  for t in transactions session_events; do
    kcat -P -b "$ECOM_BROKERS" -t "${prefix}$t" -K $'\t' -l "$tmp/window/$t" || fail "kcat could not publish to ${prefix}$t"
  done
}
# the definition: every event of the minute series within the last 1,440 minutes of the newest
expect_minutes() { # expect_minutes SNAPSHOT
  python3 - "$1" "$tmp/gen.ndjson" "$prefix" "$tmp/late" "$tmp/window" <<'PY' || fail "the minute series is not the last 1,440 minutes of everything published"
import json, sys, os, datetime as dt
snap, src, prefix, late, window = sys.argv[1:6]
values = []
for line in open(src):
    m = json.loads(line)
    values.append((m["topic"][len(prefix):], m["value"]))
for d in (late, window):
    for t in ("transactions", "session_events"):
        for line in open(os.path.join(d, t)):
            try:
                values.append((t, json.loads(line.split("\t", 1)[1])))
            except ValueError:
                pass
seen, events = set(), []  # (minute, series, amount), each id once
for topic, v in values:
    if topic == "transactions" and v["transaction_id"] not in seen:
        seen.add(v["transaction_id"])
        events += [(v["timestamp"][:16], "orders", 1), (v["timestamp"][:16], "revenue_cents", v["total_cents"])]
    elif topic == "session_events":
        if ("s", v["session_id"]) not in seen:
            seen.add(("s", v["session_id"]))
            events.append((v["start_time"][:16], "sessions", 1))
        if v["type"] == "page_view" and ("pv", v["session_id"], v["seq"]) not in seen:
            seen.add(("pv", v["session_id"], v["seq"]))
            events.append((v["ts"][:16], "page_views", 1))
        if v["type"] == "session_end" and v["conversion_status"] == "converted" and ("c", v["session_id"]) not in seen:
            seen.add(("c", v["session_id"]))
            events.append((v["ts"][:16], "converted", 1))
fmt = "%Y-%m-%dT%H:%M"
newest = dt.datetime.strptime(max(e[0] for e in events), fmt)
first = (newest - dt.timedelta(minutes=1439)).strftime(fmt)
want = {}
for minute, series, n in events:
    if minute >= first:
        row = want.setdefault(minute + "Z", dict(minute=minute + "Z", orders=0, revenue_cents=0, sessions=0, page_views=0, converted=0))
        row[series] += n
want = [want[k] for k in sorted(want)]
got = json.load(open(snap))["minutes"]
if got != want:
    g, w = {r["minute"]: r for r in got}, {r["minute"]: r for r in want}
    for k in sorted(set(g) | set(w)):
        if g.get(k) != w.get(k):
            print("minute", k, "expected", w.get(k), "found", g.get(k))
    sys.exit(1)
assert got[0]["minute"] == first + "Z" and got[-1]["minute"] == newest.strftime(fmt) + "Z", (got[0], got[-1])
print(f"ok: the minute series is the {len(got)} minutes with counts from {first}Z to {newest.strftime(fmt)}Z")
PY
}
publish_window
run_all
snapshot "$tmp/snap4.json"
expect_minutes "$tmp/snap4.json"
expect_eq "active sessions after the window's sessions ended" 0 "$(json_get "$tmp/snap4.json" "d['active_sessions']")"
publish_window
run_all
snapshot "$tmp/snap5.json"
metrics_equal "$tmp/snap4.json" "$tmp/snap5.json" "a second publication of the window's events changed no metric"
rc=$(verify "$tmp/verify2.txt")
cat "$tmp/verify2.txt"
expect_eq "verify exit status after the late events" 0 "$rc"

# ---- a corrupted counter is found and named -------------------------------------------------------
generation=$(json_get "$tmp/snap5.json" "d['pipeline']['generation']")
day=$(json_get "$tmp/late/expect.json" "d['txn_day']")
redis-cli HINCRBY "${prefix}g${generation}:sales" "$day:revenue_cents" 7 >/dev/null
rc=$(verify "$tmp/verify3.txt")
cat "$tmp/verify3.txt"
expect_eq "verify exit status with one corrupted counter" 1 "$rc"
grep -q "stores vs redis: daily_sales.revenue_cents $day: expected" "$tmp/verify3.txt" ||
  fail "verify did not name the corrupted counter"
[ "$(grep -c ': expected' "$tmp/verify3.txt")" = 1 ] || fail "verify reported more than the one corrupted counter"
redis-cli HINCRBY "${prefix}g${generation}:sales" "$day:revenue_cents" -7 >/dev/null
rc=$(verify "$tmp/verify4.txt")
expect_eq "verify exit status with the counter put back" 0 "$rc"

# ---- a store verify cannot read: exit 2, saying which ----------------------------------------------
rc=$(verify "$tmp/verify5.txt" --hbase 127.0.0.1:1)
expect_eq "verify exit status with HBase unreachable" 2 "$rc"
grep -q "HBase .*127.0.0.1:1" "$tmp/verify5.txt" || { cat "$tmp/verify5.txt"; fail "verify did not name the store it could not read"; }
rm -f "$tmp/gen.ndjson"
