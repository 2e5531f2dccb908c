#!/usr/bin/env bash
# The HBase sink over Thrift2 stamps every cell with its event's time, so writing the same events
# again puts back the very same cells. A backfill through `ecom sink hbase --until-end` is dumped
# cell by cell (row, column, timestamp, value) and must equal, byte for byte, the cells the
# generated events call for, each stamped with its event's time in milliseconds. Then a replay
# from earliest in a new group (in small batches, so rows are cut across batches and
# connections differently), and a second publication of every event read by the first group,
# must each leave a dump identical to the first.
source "$(dirname "$0")/lib.sh"
: "${HBASE_DUMP:?set by ctest}"

test_setup hbase_replay
gen=(--seed 23 --scale 0.005 --end 2025-06-01 --topic-prefix "$prefix")

cleanup() {
  "$HBASE_DUMP" --hbase-table "$table" --drop >/dev/null 2>&1 || true
  "$ECOM_BIN" init --delete --topic-prefix "$prefix" >/dev/null 2>&1 || true
}
trap cleanup EXIT

# the sink creates the table itself (over Thrift2, like everything else it does)
"$ECOM_BIN" init --topic-prefix "$prefix" --topics-only
"$ECOM_BIN" generate "${gen[@]}"
"$ECOM_BIN" generate "${gen[@]}" --output "$tmp/gen.ndjson"

sink() { # sink GROUP ARGS...: one --until-end run of the HBase sink
  local group=$1
  shift
  "$ECOM_BIN" sink hbase --topic-prefix "$prefix" --hbase-table "$table" --group "$group" \
    --until-end "$@" 2>>"$tmp/sink.log" || { tail -20 "$tmp/sink.log"; fail "sink hbase ($group) failed"; }
}

# dump_equal A B WHAT: two dumps are the same bytes; else the first differing lines are shown
dump_equal() {
  cmp -s "$1" "$2" || { diff "$1" "$2" | head -20; fail "$3"; }
  echo "ok: $3 ($(wc -l <"$2") cells)"
}

sink "$table-first" --from earliest
"$HBASE_DUMP" --hbase-table "$table" >"$tmp/first.dump"

# The cells the generated events call for, in HBase's order, escaped as hbase_dump writes them.
python3 - "$tmp/gen.ndjson" "$prefix" >"$tmp/expected.dump" <<'PY'
import calendar, json, sys, time
src, prefix = sys.argv[1:3]
cells = {}  # (row, family, qualifier) -> (timestamp ms, value); the newest timestamp wins

def ms(t):
    return calendar.timegm(time.strptime(t, "%Y-%m-%dT%H:%M:%SZ")) * 1000

def compact(v):
    return json.dumps(v, separators=(",", ":"), ensure_ascii=False)

def put(row, column, value, ts):
    family, qualifier = column.split(":", 1)
    key = (row, family, qualifier)
    if key not in cells or ts >= cells[key][0]:
        cells[key] = (ts, value)

for line in open(src, encoding="utf-8"):
    m = json.loads(line)
    if m["topic"] != prefix + "session_events":
        continue
    v = m["value"]
    ts = ms(v["ts"])
    row = f'{v["user_id"]}_{v["start_time"]}_{v["session_id"]}'
    if v["type"] == "session_start":
        g, d = v["geo_data"], v["device_profile"]
        for column, value in [
            ("info:session_id", v["session_id"]), ("info:user_id", v["user_id"]),
            ("info:start_time", v["start_time"]), ("info:referrer", v["referrer"]),
            ("geo:city", g["city"]), ("geo:state", g["state"]), ("geo:country", g["country"]),
            ("geo:ip_address", g["ip_address"]), ("device:type", d["type"]),
            ("device:os", d["os"]), ("device:browser", d["browser"])]:
            put(row, column, value, ts)
    elif v["type"] == "page_view":
        pv = {"ts": v["ts"], "page_type": v["page_type"]}
        for k in ("product_id", "category_id"):
            if v.get(k):
                pv[k] = v[k]
        pv["view_duration"] = v["view_duration"]
        put(row, "pv:%03d" % (v["seq"] % 1000), compact(pv), ts)
    elif v["type"] == "session_end":
        put(row, "info:end_time", v["ts"], ts)
        put(row, "info:duration", str(v["duration_seconds"]), ts)
        put(row, "info:conversion", v["conversion_status"], ts)
        if v.get("transaction_id"):
            put(row, "info:transaction_id", v["transaction_id"], ts)
        put(row, "info:viewed_products", compact(v["viewed_products"]), ts)
        put(row, "info:cart_contents", compact(v["cart_contents"]), ts)
        for product, quantity in v["cart_contents"].items():
            put(row, "cart:" + product, str(quantity), ts)

def esc(b):
    return b"".join(b"\\x%02x" % c if c < 0x20 or c in (0x5C, 0x7F) else bytes([c]) for c in b)

out = sys.stdout.buffer
for key in sorted(cells, key=lambda k: tuple(p.encode() for p in k)):
    row, family, qualifier = key
    ts, value = cells[key]
    out.write(b"\t".join([esc(row.encode()), esc(f"{family}:{qualifier}".encode()),
                          str(ts).encode(), esc(value.encode())]) + b"\n")
PY
[ -s "$tmp/expected.dump" ] || fail "the generated data calls for no cells"
dump_equal "$tmp/expected.dump" "$tmp/first.dump" \
  "every cell, value and timestamp (the event's time) is what the events call for"
rows=$(cut -f1 "$tmp/first.dump" | sort -u | wc -l)
stamps=$(cut -f3 "$tmp/first.dump" | sort -u | wc -l)
[ "$stamps" -gt 1000 ] || fail "only $stamps distinct timestamps: the data does not exercise per-cell times"
echo "ok: $rows rows, $stamps distinct event times among the cells"

# a replay from the beginning in a new group, in batches of 97 events
sink "$table-replay" --from earliest --batch-size 97
"$HBASE_DUMP" --hbase-table "$table" >"$tmp/replay.dump"
dump_equal "$tmp/first.dump" "$tmp/replay.dump" "a replay from earliest left every cell as it was"

# every event published a second time, read by the first group (only the new copies)
"$ECOM_BIN" generate "${gen[@]}"
sink "$table-first"
grep -q 'msg="sink hbase stopped".*events_stored=[1-9]' <(tail -1 "$tmp/sink.log") ||
  fail "the first group read nothing of the second publication"
"$HBASE_DUMP" --hbase-table "$table" >"$tmp/twice.dump"
dump_equal "$tmp/first.dump" "$tmp/twice.dump" "publishing every event twice left every cell as it was"
rm -f "$tmp/gen.ndjson"
