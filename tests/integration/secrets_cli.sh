#!/usr/bin/env bash
# No error shows a secret, from the command line as a user meets it: malformed Redis URLs (a
# password with an unencoded '/', '?' or '#'), a Redis that refuses the connection, MongoDB
# connection strings libmongoc quotes back, and --kafka-config files with long lines or lines
# that are not KEY=VALUE. Each fails with its exit status and an error that names what is
# wrong, and no password appears anywhere in its output. Needs no running service.
source "$(dirname "$0")/lib.sh"

tmp="$ECOM_TEST_TMP/secrets_cli"
mkdir -p "$tmp"
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=0}"

# expect_failure STATUS SECRET EXPECTED ARGS...: runs ecom ARGS, which must exit with STATUS,
# print EXPECTED (a fixed string) and never SECRET.
expect_failure() {
  local status=$1 secret=$2 expected=$3 rc=0
  shift 3
  "$ECOM_BIN" "$@" >"$tmp/out" 2>&1 || rc=$?
  [ "$rc" = "$status" ] || { cat "$tmp/out"; fail "ecom $1: exit status $rc, expected $status"; }
  grep -qF -- "$expected" "$tmp/out" || { cat "$tmp/out"; fail "ecom $1: no '$expected'"; }
  if grep -qF -- "$secret" "$tmp/out"; then
    cat "$tmp/out"
    fail "ecom $1 shows the secret '$secret'"
  fi
  echo "ok: ecom $1 ... fails with: $expected"
}

for url in 'redis://default:s3cr/et@cache:6379' 'redis://default:s3cr?et@cache' \
  'redis://default:s3cr#et@cache'; do
  expect_failure 2 s3cr "--redis: '@' after the host; percent-encode" \
    aggregate --redis "$url" --snapshot
  ECOM_REDIS="$url" expect_failure 2 s3cr "--redis: '@' after the host" dashboard
done
expect_failure 2 s3cret "--redis: the port must be a number 1..65535" \
  aggregate --redis 'redis://s3cret@cache:s3cret' --snapshot
expect_failure 2 zq "--redis: the password contains %00" \
  aggregate --redis 'redis://u:zq%00xy@cache' --snapshot
expect_failure 2 s3cret "cannot connect to Redis at redis://default:***@127.0.0.1:1/0" \
  aggregate --redis 'redis://default:s3cret@127.0.0.1:1' --snapshot

expect_failure 2 "s3c:ret" 'Password \"***\" must not have unescaped chars' \
  sink mongo --mongo-uri 'mongodb://u:s3c:ret@db:27017'
expect_failure 2 "ss@db" "--mongo-uri: an unencoded '@' in the user name or password" \
  sink mongo --mongo-uri 'mongodb://u:p@ss@db:27017'

# a line past the old 4,095-byte buffer: read whole, so no piece of the secret is a line
python3 - "$tmp/kafka.conf" <<'PY'
import sys
open(sys.argv[1], "w").write("security.protocol=PLAINTEXT\n" + "sasl.password " + "s3cretpart" * 600 + "\n")
PY
expect_failure 2 s3cretpart "$tmp/kafka.conf:2: expected KEY=VALUE, the line has no '='" \
  aggregate --kafka-config "$tmp/kafka.conf" --snapshot
printf 'sasl.password=s3cr\0et\n' >"$tmp/nul.conf"
expect_failure 2 s3cr "$tmp/nul.conf:1: key 'sasl.password': the line contains a NUL byte" \
  aggregate --kafka-config "$tmp/nul.conf" --snapshot
