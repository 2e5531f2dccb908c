#!/usr/bin/env bash
# Hostile values in messages forge neither log lines nor dead-letter headers. Reference
# messages whose ids and names carry a newline and a forged log line, an escape sequence, a
# line separator, a NUL and bytes that are not UTF-8 are published; the MongoDB sink sends each
# to the dead-letter topic and logs it. Every log line is one line starting with ts=, no forged
# line appears, the quoted value shows escaped, and every `error` header is printable UTF-8
# holding the escaped text. The good message beside them is stored.
source "$(dirname "$0")/lib.sh"
: "${STORE_CENSUS:?set by ctest}"

test_setup hostile
"$ECOM_BIN" init --topics-only --topic-prefix "$prefix"

# key<TAB>value lines: the forged product id is 31 bytes, so it reaches the id check
python3 - "$tmp" <<'PY'
import sys
d = sys.argv[1]
product = ('{"schema_version":1,"product_id":%s,"name":%s,"category_id":"cat_001",'
           '"base_price_cents":100,"price_history":[{"price_cents":100,'
           '"date":"2025-01-01T00:00:00Z"}],"current_stock":1,"is_active":true,'
           '"creation_date":"2025-01-01T00:00:00Z"}')
lines = [
    b"prod_1\t" + (product % ('"prod_1\\nlevel=error msg=\\"forged\\""', '"n"')).encode(),
    b"prod_00002\t" + (product % ('"prod_00002"', '"Lamp\\u001b[2J\\u2028x"')).encode(),
    b"prod_00003\t" + (product % ('"prod_00003"', '"Z\xffrich"')).encode("latin-1"),
    b"prod_00004\t" + (product % ('"prod_00004"', '"fine"')).encode(),
]
open(f"{d}/products", "wb").write(b"\n".join(lines) + b"\n")
PY
kcat -P -b "$ECOM_BROKERS" -t "${prefix}products" -K $'\t' -l "$tmp/products"

"$ECOM_BIN" sink mongo --topic-prefix "$prefix" --mongo-db "$db" --group "$db" --until-end \
  2>"$tmp/mongo.log" || { tail "$tmp/mongo.log"; fail "sink mongo"; }

# the log: one line per entry, nothing forged, the bad id escaped inside its quoted field
grep -v '^ts=' "$tmp/mongo.log" && fail "a log line that does not start with ts="
grep -q '^level=error msg="forged"' "$tmp/mongo.log" && fail "a forged log line"
LC_ALL=C grep -q $'[\x01-\x09\x0b-\x1f\x7f]' "$tmp/mongo.log" && fail "a control byte in the log"
expect_eq "dead letters logged" 3 "$(grep -c 'msg="dead letter"' "$tmp/mongo.log")"
grep -qF "error=\"field 'product_id': 'prod_1\\\\nlevel=error msg=\\\\\\\"forged\\\\\\\"' is not an id" \
  "$tmp/mongo.log" || { cat "$tmp/mongo.log"; fail "the forged id is not shown escaped"; }
echo "ok: every log line is one line; the forged id shows escaped"

# the headers: printable UTF-8, the reasons escaped
kcat -C -b "$ECOM_BROKERS" -t "${prefix}dlq" -e -q -f '%h\n' >"$tmp/dlq.txt"
expect_eq "dead letters" 3 "$(wc -l <"$tmp/dlq.txt")"
python3 - "$tmp/dlq.txt" <<'PY' || fail "dead-letter headers"
import sys, unicodedata
text = open(sys.argv[1], "rb").read().decode("utf-8")  # fails on anything not UTF-8
for line in text.splitlines():
    bad = [c for c in line if unicodedata.category(c) in ("Cc", "Zl", "Zp") or c == "\u202e"]
    if bad:
        sys.exit(f"unprintable {bad!r} in: {line}")
expected = [
    "error=field 'product_id': 'prod_1\\nlevel=error msg=\\\"forged\\\"' is not an id of the form prod_00000",
    "error=field 'name': contains control character 0x1b at byte 4",
    "error=not valid JSON at line 1 column ",
]
for e in expected:
    if e not in text:
        sys.exit(f"no header {e!r} in:\n{text}")
print("ok: every error header is printable and holds the escaped reason")
PY
"$STORE_CENSUS" --mongo-db "$db" --no-hbase >"$tmp/census.json"
expect_eq "the good product stored" 1 \
  "$(census_field "$tmp/census.json" "['mongo']['products']['count']")"
