# Shared helpers of the integration tests: fail loudly, compare JSON, a scratch directory.
set -euo pipefail

: "${ECOM_BIN:?set by ctest: path to the ecom binary}"
: "${ECOM_TEST_TMP:=$(mktemp -d)}"
export ECOM_BROKERS="${ECOM_BROKERS:-127.0.0.1:9092}"
mkdir -p "$ECOM_TEST_TMP"

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

# A topic prefix no other test run uses.
unique_prefix() {
  echo "test.$1.$(date +%s).$$."
}

# json_get FILE EXPR: evaluates a Python expression over the parsed document `d`.
json_get() {
  python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"
}

# expect_eq WHAT EXPECTED ACTUAL
expect_eq() {
  [ "$2" = "$3" ] || fail "$1: expected $2, got $3"
  echo "ok: $1 = $3"
}

: "${STORE_CENSUS:=}"
: "${TOPIC_CENSUS:=}"

# A name for a database, table or group no other test run uses (letters, digits, _).
unique_name() {
  echo "t_$1_$(date +%s)_$$"
}

# test_setup NAME [DIR]: the opening of a test against the stack. Sets
#   prefix     a topic prefix no other run uses (unique_prefix NAME);
#   name       a name no other run uses (unique_name NAME), and db and table, the MongoDB
#              database and the HBase table of that name (they live in different stores);
#   stores     the flags pointing a command at those topics, database and table;
#   tmp        the test's scratch directory, $ECOM_TEST_TMP/DIR (DIR defaults to NAME), created
#              empty, so nothing of an earlier run is read back.
# The test then creates what it needs with its own `ecom init`.
test_setup() {
  prefix=$(unique_prefix "$1")
  name=$(unique_name "$1")
  db=$name
  table=$name
  stores=(--topic-prefix "$prefix" --mongo-db "$db" --hbase-table "$table")
  tmp="$ECOM_TEST_TMP/${2:-$1}"
  rm -rf "$tmp"
  mkdir -p "$tmp"
}

# ndjson_split NDJSON DIR: one file per topic of "key<TAB>value" lines, for kcat -P -K'\t'.
ndjson_split() {
  python3 - "$1" "$2" <<'PY'
import sys, os
src, out = sys.argv[1], sys.argv[2]
os.makedirs(out, exist_ok=True)
files = {}
with open(src, "rb") as f:
    for line in f:
        t0 = line.index(b'"topic":"') + 9; t1 = line.index(b'"', t0)
        k0 = line.index(b'"key":"', t1) + 7; k1 = line.index(b'"', k0)
        v0 = line.index(b'"value":', k1) + 8
        topic = line[t0:t1].decode()
        if topic not in files:
            files[topic] = open(os.path.join(out, topic), "wb")
        files[topic].write(line[k0:k1] + b"\t" + line[v0:-2] + b"\n")
for f in files.values():
    f.close()
PY
}

# census_field FILE PATH: a value from a store census, PATH like "['mongo']['users']['count']".
census_field() {
  json_get "$1" "d$2"
}

: "${ECOM_STACK:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/compose/local/stack}"
: "${ECOM_STACK_DIR:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/.stack}"

# The pid of a local stack service (redis, ferretdb, kafka, hbase, thrift, thrift2).
stack_pid() {
  cat "$ECOM_STACK_DIR/run/$1.pid"
}

# Waits for a background process; fails the test with its log tail when it exits non-zero.
wait_ok() { # wait_ok PID LOG WHAT
  wait "$1" || { tail -20 "$2"; fail "$3 exited non-zero"; }
}

# sinks_until_end DIR NAME ARGS...: both sinks, side by side, to the end of the topics, in groups
# NAME-mongo and NAME-hbase, logs in DIR; fails with a log tail when either fails.
sinks_until_end() {
  local dir=$1 name=$2
  shift 2
  "$ECOM_BIN" sink mongo "$@" --group "$name-mongo" --until-end 2>>"$dir/mongo.log" &
  local m=$!
  "$ECOM_BIN" sink hbase "$@" --group "$name-hbase" --until-end 2>>"$dir/hbase.log" &
  local h=$!
  wait_ok $m "$dir/mongo.log" "sink mongo"
  wait_ok $h "$dir/hbase.log" "sink hbase"
}

# metrics_equal A B WHAT: every metric of two snapshots (or a snapshot and a manifest) is equal,
# the pipeline section aside; fails with each differing metric printed.
metrics_equal() {
  python3 - "$1" "$2" <<'PY' || fail "$3"
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
a.pop("pipeline", None); b.pop("pipeline", None)
bad = [k for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)]
for k in bad:
    print(f"{k}:\n  {json.dumps(a.get(k))[:400]}\n  {json.dumps(b.get(k))[:400]}")
sys.exit(1 if bad else 0)
PY
  echo "ok: $3"
}
