#!/usr/bin/env bash
# Poison messages of every kind go to the dead-letter topic with their source and reason, and
# the good messages published before and after them are all stored: the partition moves on.
source "$(dirname "$0")/lib.sh"
: "${STORE_CENSUS:?set by ctest}"

test_setup poison
"$ECOM_BIN" init --topic-prefix "$prefix"
"$ECOM_BIN" generate --seed 5 --scale 0.001 --end 2025-06-01 --topic-prefix "$prefix" \
  --manifest "$tmp/manifest.json" --output "$tmp/gen.ndjson"
ndjson_split "$tmp/gen.ndjson" "$tmp/split"

produce() { # produce TOPIC_SUFFIX FILE
  kcat -P -b "$ECOM_BROKERS" -t "$prefix$1" -K $'\t' -l "$2"
}
half() { # half FILE first|second
  local n
  n=$(wc -l <"$1")
  if [ "$2" = first ]; then head -n $((n / 2)) "$1"; else tail -n +$((n / 2 + 1)) "$1"; fi
}

# one poison message per line: key<TAB>value; the expected reason is checked below
python3 - "$tmp" <<'PY'
import sys
d = sys.argv[1]
ev = ('{"schema_version":1,"event_id":"sess_99999999-0","type":"%s","session_id":"sess_99999999",'
      '"user_id":"user_000001","ts":"2025-05-01T10:00:00Z","start_time":"2025-05-01T10:00:00Z"}')
events = [
    b"user_000001\t{not json at all",
    b"user_000001\t" + (ev % "page_click").encode(),
    b"user_000001\t" + (ev % "page_view").replace('"session_id":"sess_99999999",', "").encode(),
    b"user_000001\t" + (ev % "session_start").replace("user_000001\"", "us\xff\xfe\"").encode("latin-1"),
    b"user_000001\t{\"schema_version\":1,\"pad\":\"" + b"x" * 70000 + b"\"}",
]
txn = ('{"schema_version":1,"transaction_id":"txn_99999999","session_id":null,"user_id":"user_000001",'
       '"timestamp":"2025-05-01T10:00:00Z","items":[{"product_id":"prod_00001","quantity":1,'
       '"unit_price_cents":100,"subtotal_cents":100}],"subtotal_cents":100,"discount_cents":0,'
       '"total_cents":"100","payment_method":"paypal","status":"completed"}')
transactions = [b"user_000001\t" + txn.encode(), b"user_000001\t[1,2,3]"]
open(f"{d}/poison.events", "wb").write(b"\n".join(events) + b"\n")
open(f"{d}/poison.transactions", "wb").write(b"\n".join(transactions) + b"\n")
PY

for t in categories products users; do produce "$t" "$tmp/split/$prefix$t"; done
for t in session_events transactions; do
  half "$tmp/split/$prefix$t" first >"$tmp/$t.1"
  half "$tmp/split/$prefix$t" second >"$tmp/$t.2"
done
produce session_events "$tmp/session_events.1"
produce transactions "$tmp/transactions.1"
produce session_events "$tmp/poison.events"
produce transactions "$tmp/poison.transactions"
produce session_events "$tmp/session_events.2"
produce transactions "$tmp/transactions.2"

"$ECOM_BIN" sink mongo "${stores[@]}" --group "$db-m" --until-end 2>"$tmp/mongo.log" ||
  { tail "$tmp/mongo.log"; fail "sink mongo"; }
"$ECOM_BIN" sink hbase "${stores[@]}" --group "$db-h" --until-end 2>"$tmp/hbase.log" ||
  { tail "$tmp/hbase.log"; fail "sink hbase"; }

# every good message stored
"$STORE_CENSUS" --mongo-db "$db" --hbase-table "$table" >"$tmp/census.json"
m="$tmp/manifest.json"
expect_eq "transactions stored around the poison" "$(json_get "$m" "d['counts']['transactions']")" \
  "$(census_field "$tmp/census.json" "['mongo']['transactions']['count']")"
expect_eq "sessions stored around the poison" "$(json_get "$m" "d['counts']['sessions']")" \
  "$(census_field "$tmp/census.json" "['hbase']['rows']")"
expect_eq "converted sessions" "$(json_get "$m" "d['funnel']['total']['converted']")" \
  "$(census_field "$tmp/census.json" "['hbase']['converted']")"

# every poison message dead-lettered with its source and reason
kcat -C -b "$ECOM_BROKERS" -t "${prefix}dlq" -e -q \
  -f 'source=%h\n' >"$tmp/dlq.txt"
expect_eq "dead letters" 7 "$(grep -c '^source=' "$tmp/dlq.txt")"
for reason in "not valid JSON" "unknown event type 'page_click'" "field 'session_id': missing" \
  "unable to decode byte 0xff" "over the 65536 byte limit" "field 'total_cents': must be an integer" \
  "message is not a JSON object"; do
  grep -q -- "$reason" "$tmp/dlq.txt" || { cat "$tmp/dlq.txt" | cut -c1-300; fail "no dead letter with reason: $reason"; }
  echo "ok: dead letter with reason: $reason"
done
grep -q "source_topic=${prefix}session_events" "$tmp/dlq.txt" || fail "no source_topic header"
grep -q "source_offset=" "$tmp/dlq.txt" || fail "no source_offset header"
grep -q "source_partition=" "$tmp/dlq.txt" || fail "no source_partition header"
echo "ok: dead letters carry source topic, partition and offset"
grep -q 'msg="dead letter"' "$tmp/hbase.log" || fail "the sink did not log its dead letters"
rm -f "$tmp/gen.ndjson"
