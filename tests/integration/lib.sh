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
