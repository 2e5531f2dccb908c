#!/usr/bin/env bash
# Every analysis as a file: the dashboard's /api/export/<name>.csv and `ecom report NAME`.
#   - a small shop whose category and product names hold commas, double quotes and a leading
#     '=' (published through Kafka like any hostile input), counted by the aggregator, its
#     sessions stored in HBase;
#   - each export parses with Python's csv module and equals the snapshot row for row (the
#     decimal amount beside every cents column); `products` holds every product with its name,
#     category and category name, units and revenue equal to the sums over the published
#     transactions, by revenue then id, its units summing to the daily units and its revenue per
#     category to category_revenue; the minute series and the three segment lists likewise; a
#     user's sessions equal `ecom sessions --json`;
#   - headers: text/csv, Content-Disposition with a file name saying what and when; 404 for an
#     unknown name or extension, 400 for a malformed user id;
#   - `ecom report NAME --format csv` prints the API's file byte for byte, --format json its JSON,
#     a terminal gets an aligned table, a pipe CSV; an unknown NAME and a bad flag exit 2.
source "$(dirname "$0")/lib.sh"

test_setup reports
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
url="http://127.0.0.1:$port"
pids=()
cleanup() { for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

"$ECOM_BIN" init --topic-prefix "$prefix" --hbase-table "$table" --mongo-db "$db"
"$ECOM_BIN" generate --seed 23 --scale 0.005 --end 2025-06-01 --topic-prefix "$prefix" --output "$tmp/gen.ndjson"

# names a spreadsheet must get back whole: commas, quotes, a leading '=', UTF-8
python3 - "$tmp/gen.ndjson" "$prefix" "$tmp/shop.ndjson" <<'PY'
import json, sys
src, prefix, out = sys.argv[1:4]
category_names = {"cat_001": 'Tools, "Pro" & Garden', "cat_002": '"Quoted"', "cat_003": "=SUM(A1,A2)"}
product_names = {"prod_00001": 'Lamp, "Deluxe"', "prod_00002": 'Caf\u00e9 Pan 12"', "prod_00003": ',,,'}
with open(src) as f, open(out, "w") as o:
    for line in f:
        m = json.loads(line)
        v, topic = m["value"], m["topic"][len(prefix):]
        if topic == "categories" and v["category_id"] in category_names:
            v["name"] = category_names[v["category_id"]]
        if topic == "products" and v["product_id"] in product_names:
            v["name"] = product_names[v["product_id"]]
        o.write(json.dumps({"topic": m["topic"], "key": m["key"], "value": v},
                           separators=(",", ":"), ensure_ascii=False) + "\n")
PY
ndjson_split "$tmp/shop.ndjson" "$tmp/topics"
for t in categories products users transactions session_events; do
  kcat -P -b "$ECOM_BROKERS" -t "${prefix}$t" -K $'\t' -l "$tmp/topics/${prefix}$t" ||
    fail "kcat could not publish to ${prefix}$t"
done

"$ECOM_BIN" sink hbase --topic-prefix "$prefix" --hbase-table "$table" --group "$table-hbase" \
  --until-end 2>"$tmp/hbase.log" || { tail "$tmp/hbase.log"; fail "sink hbase"; }
"$ECOM_BIN" aggregate --topic-prefix "$prefix" --group "$table-agg" --until-end 2>"$tmp/aggregate.log" ||
  { tail "$tmp/aggregate.log"; fail "ecom aggregate"; }
"$ECOM_BIN" aggregate --snapshot --topic-prefix "$prefix" >"$tmp/snapshot.json"
"$ECOM_BIN" dashboard --topic-prefix "$prefix" --hbase-table "$table" --listen "127.0.0.1:$port" \
  2>"$tmp/dashboard.log" &
pids+=($!)
for _ in $(seq 1 60); do
  curl -sf "$url/api/metrics.json" -o "$tmp/metrics.json" && break
  sleep 0.5
done
metrics_equal "$tmp/snapshot.json" "$tmp/metrics.json" "the dashboard serves the aggregator's counters"

# the user with the most sessions
user=$(python3 - "$tmp/shop.ndjson" <<'PY'
import collections, json, sys
n = collections.Counter(json.loads(l)["value"]["user_id"] for l in open(sys.argv[1]) if '"type":"session_start"' in l)
print(n.most_common(1)[0][0])
PY
)
"$ECOM_BIN" sessions "$user" --hbase-table "$table" --json >"$tmp/sessions.json"

# ---- the API ------------------------------------------------------------------------------------
names=(daily_sales funnel_by_day category_revenue spend_by_registration_year cohorts counts minutes
  segments_device segments_referrer segments_country products "users/$user/sessions")
mkdir -p "$tmp/api" "$tmp/cli"
for name in "${names[@]}"; do
  file=${name//\//-}
  status=$(curl -s -D "$tmp/api/$file.h" -o "$tmp/api/$file.csv" -w '%{http_code}' "$url/api/export/$name.csv")
  expect_eq "status of /api/export/$name.csv" 200 "$status"
  grep -qi '^Content-Type: text/csv; charset=utf-8' "$tmp/api/$file.h" || fail "$name.csv: not text/csv"
  grep -qiE "^Content-Disposition: attachment; filename=\"ecom-$file-20[0-9]{2}-[01][0-9]-[0-3][0-9]T[0-2][0-9][0-5][0-9]Z\.csv\"" \
    "$tmp/api/$file.h" || { cat "$tmp/api/$file.h"; fail "$name.csv: no file name saying what and when"; }
  grep -qi "^X-Content-Type-Options: nosniff" "$tmp/api/$file.h" || fail "$name.csv: no security headers"
  curl -sf "$url/api/export/$name.json" -o "$tmp/api/$file.json" || fail "/api/export/$name.json"
done
echo "ok: every export is served as a CSV file named after what it holds and when"

python3 - "$tmp" "$user" <<'PY' || fail "the exports differ from the snapshot"
import collections, csv, io, json, sys
tmp, user = sys.argv[1:3]
snap = json.load(open(f"{tmp}/snapshot.json"))

def money(c):
    return f"{'-' if c < 0 else ''}{abs(c) // 100}.{abs(c) % 100:02d}"

def read_csv(name):
    raw = open(f"{tmp}/api/{name}.csv", "rb").read()
    assert raw.endswith(b"\r\n"), f"{name}: records end with CRLF"
    return list(csv.reader(io.StringIO(raw.decode("utf-8"), newline="")))

def expected(rows, fields):
    """The CSV a list of snapshot rows must give: a header, each _cents field then its decimal."""
    header = []
    for f in fields:
        header.append(f)
        if f.endswith("_cents"):
            header.append(f[:-6])
    out = [header]
    for r in rows:
        line = []
        for f in fields:
            v = r[f]
            line.append("" if v is None else str(v))
            if f.endswith("_cents"):
                line.append(money(v))
        out.append(line)
    return out

reports = {
    "daily_sales": (snap["daily_sales"], ["day", "revenue_cents", "orders", "units"]),
    "funnel_by_day": (snap["funnel"]["by_day"], ["day", "viewed", "carted", "converted"]),
    "category_revenue": (snap["category_revenue"], ["category_id", "name", "lines", "revenue_cents"]),
    "spend_by_registration_year": (snap["spend_by_registration_year"], ["year", "orders", "total_cents", "mean_cents"]),
    "cohorts": (snap["cohorts"], ["registration_month", "transaction_month", "users"]),
    "counts": ([snap["counts"]], ["users", "categories", "products", "transactions", "sessions"]),
    "minutes": (snap["minutes"], ["minute", "orders", "revenue_cents", "sessions", "page_views", "converted"]),
    **{f"segments_{d}": (snap["segments"][d], ["key", "sessions", "viewed", "carted", "converted", "orders", "revenue_cents"])
       for d in ("device", "referrer", "country")},
}
for name, (rows, fields) in reports.items():
    got, want = read_csv(name), expected(rows, fields)
    assert len(rows) > 0, f"{name}: the snapshot has no rows"
    assert got == want, f"{name}:\n{got[:4]}\n{want[:4]}"
    print(f"ok: {name}.csv equals the snapshot, {len(rows)} row(s)")
names = {r["category_id"]: r["name"] for r in snap["category_revenue"]}
for cid, name in {"cat_001": 'Tools, "Pro" & Garden', "cat_002": '"Quoted"', "cat_003": "=SUM(A1,A2)"}.items():
    assert names.get(cid) == name, (cid, names.get(cid))
print("ok: category names with commas, quotes and a leading '=' come back whole")

# products: every product, its latest name and category, sums over the published transactions
latest, categories, units, revenue = {}, {}, collections.Counter(), collections.Counter()
for line in open(f"{tmp}/shop.ndjson"):
    m = json.loads(line)
    v, topic = m["value"], m["topic"].rsplit(".", 1)[-1]
    if topic == "products":
        latest[v["product_id"]] = v
    elif topic == "categories":
        categories[v["category_id"]] = v["name"]
    elif topic == "transactions":
        for i in v["items"]:
            units[i["product_id"]] += i["quantity"]
            revenue[i["product_id"]] += i["subtotal_cents"]
want = sorted(([p, latest[p]["name"], latest[p]["category_id"], categories[latest[p]["category_id"]],
                units[p], revenue[p]] for p in latest), key=lambda r: (-r[5], r[0]))
got = read_csv("products")
assert got[0] == ["product_id", "name", "category_id", "category_name", "units", "revenue_cents", "revenue"], got[0]
assert got[1:] == [[*map(str, r), money(r[5])] for r in want], f"products:\n{got[1:4]}\n{want[:3]}"
assert any(r[1] == 'Lamp, "Deluxe"' for r in got) and any(r[3] == 'Tools, "Pro" & Garden' for r in got)
assert sum(int(r[4]) for r in got[1:]) == sum(d["units"] for d in snap["daily_sales"]), "units"
by_category = collections.Counter()
for r in got[1:]:
    by_category[r[2]] += int(r[5])
assert {c: n for c, n in by_category.items() if n} == {c["category_id"]: c["revenue_cents"] for c in snap["category_revenue"]}
top = [[r[0], r[1], int(r[4]), int(r[5])] for r in got[1:11]]
assert top == [[p["product_id"], p["name"], p["units"], p["revenue_cents"]] for p in snap["top_products"]["by_revenue"]], top
print(f"ok: products.csv holds all {len(want)} products with names, categories, units and revenue; "
      f"its units sum to the daily units, its revenue per category to category_revenue")

listing = json.load(open(f"{tmp}/sessions.json"))
fields = ["session_id", "start_time", "end_time", "duration_seconds", "conversion", "referrer", "device",
          "page_views", "cart_lines"]
got = read_csv(f"users-{user}-sessions")
assert got == expected(listing["sessions"], fields), got[:3]
assert len(got) - 1 == listing["summary"]["count"] > 0
print(f"ok: users/{user}/sessions.csv equals `ecom sessions --json`, {len(got) - 1} sessions")

# the JSON exports: the same rows, keyed by the CSV's header
for name in [*reports, "products", f"users-{user}-sessions"]:
    rows = read_csv(name)
    doc = json.load(open(f"{tmp}/api/{name}.json"))
    as_text = [[("" if v is None else str(v)) for v in r.values()] for r in doc]
    assert [list(doc[0].keys())] + as_text == rows if doc else rows[1:] == [], name
print("ok: every .json export holds the rows of its .csv")
PY

# errors
curl -s -o "$tmp/unknown.json" -w '%{http_code}' "$url/api/export/nope.csv" >"$tmp/status"
expect_eq "status of an unknown export" 404 "$(cat "$tmp/status")"
grep -q "no report named 'nope'; reports: daily_sales" "$tmp/unknown.json" || fail "the 404 does not name the exports"
expect_eq "status of an unknown extension" 404 \
  "$(curl -s -o /dev/null -w '%{http_code}' "$url/api/export/daily_sales.xlsx")"
curl -s -o "$tmp/bad.json" -w '%{http_code}' "$url/api/export/users/user_12%27/sessions.csv" >"$tmp/status"
expect_eq "status of a malformed user id" 400 "$(cat "$tmp/status")"
grep -q "is not a user id of the form user_000000" "$tmp/bad.json" || fail "the 400 gives no reason"

# ---- ecom report ----------------------------------------------------------------------------------
report() { "$ECOM_BIN" report "$@" --topic-prefix "$prefix" --hbase-table "$table"; }
for name in "${names[@]}"; do
  file=${name//\//-}
  report "$name" --format csv >"$tmp/cli/$file.csv" || fail "ecom report $name"
  cmp -s "$tmp/cli/$file.csv" "$tmp/api/$file.csv" || fail "ecom report $name --format csv differs from the API"
  report "$name" --format json >"$tmp/cli/$file.json"
  python3 -c 'import json,sys; a,b=(json.load(open(p)) for p in sys.argv[1:]); sys.exit(a != b)' \
    "$tmp/cli/$file.json" "$tmp/api/$file.json" || fail "ecom report $name --format json differs from the API"
  report "$name" >"$tmp/cli/$file.piped"
  cmp -s "$tmp/cli/$file.piped" "$tmp/api/$file.csv" || fail "ecom report $name into a pipe is not CSV"
done
echo "ok: ecom report prints the API's rows, CSV into a pipe"
# a terminal gets an aligned table: every line as wide as the header
TERM=dumb script -qec "$ECOM_BIN report category_revenue --topic-prefix $prefix" /dev/null | tr -d '\r' >"$tmp/table.txt"
python3 - "$tmp/table.txt" "$tmp/api/category_revenue.csv" <<'PY' || fail "the terminal table"
import csv, sys
lines = open(sys.argv[1], encoding="utf-8").read().splitlines()
rows = list(csv.reader(open(sys.argv[2], encoding="utf-8", newline="")))
assert lines[0].split() == rows[0], lines[0]
body = lines[1:-1]
assert lines[-1] == f"({len(rows) - 1} rows)", lines[-1]
assert len(body) == len(rows) - 1
revenue_end = lines[0].index("revenue_cents") + len("revenue_cents")
for line, row in zip(body, rows[1:]):
    assert line.startswith(row[0]) and row[1] in line, (line, row)
    assert line[:revenue_end].endswith(row[3]), f"revenue_cents not right-aligned: {line!r}"
    assert line.endswith(row[4]), line
print(f"ok: a terminal gets an aligned table of {len(body)} rows")
PY
rc=0
report nope >/dev/null 2>"$tmp/nope.err" || rc=$?
expect_eq "ecom report with an unknown name" 2 "$rc"
grep -q "no report named 'nope'; reports: daily_sales, " "$tmp/nope.err" || fail "the unknown name is not named"
rc=0
report counts --format xml >/dev/null 2>"$tmp/flag.err" || rc=$?
expect_eq "ecom report with a bad --format" 2 "$rc"
grep -q "'xml' is not one of csv|json|table" "$tmp/flag.err" && grep -q "^usage: ecom report NAME" "$tmp/flag.err" ||
  fail "a bad flag does not show the usage"
rc=0
"$ECOM_BIN" report counts --topic-prefix "test.reports.none.$$." >/dev/null 2>"$tmp/none.err" || rc=$?
expect_eq "ecom report without counters" 1 "$rc"
grep -q "no counters in Redis under prefix" "$tmp/none.err" || fail "no counters: not said"
rm -f "$tmp/gen.ndjson"
