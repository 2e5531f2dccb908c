#!/usr/bin/env bash
# --until-end with a group member that dies holding partitions: the run that carries on waits
# until those partitions come to it (the dead member's session expires) and reads them too,
# instead of exiting once the partitions it was first given are done. With --from, the
# partitions it receives late are replayed as well, and commits from before the replay do not
# count as done.
source "$(dirname "$0")/lib.sh"
: "${STORE_CENSUS:?set by ctest}"

test_setup members
group=$name
"$ECOM_BIN" init --topic-prefix "$prefix"
"$ECOM_BIN" generate --seed 23 --scale 0.005 --end 2025-06-01 --topic-prefix "$prefix" \
  --manifest "$tmp/manifest.json"
want_txn=$(json_get "$tmp/manifest.json" "d['counts']['transactions']")
want_users=$(json_get "$tmp/manifest.json" "d['counts']['users']")

# wait_log FILE PATTERN WHAT: until a line matching PATTERN is in FILE (at most 60 s).
wait_log() {
  for _ in $(seq 600); do
    grep -q "$2" "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  fail "no '$2' in $1 within 60 s ($3)"
}

# round NAME DB [--from earliest]: a member that will die joins the group first, positioned at
# the end so it writes and commits nothing; a second member starts with --until-end, the two
# share the partitions, and the first is killed with SIGKILL as soon as they are shared. The
# second must end with every record in DB.
round() {
  local name=$1 db=$2
  shift 2
  "$ECOM_BIN" sink mongo --topic-prefix "$prefix" --mongo-db "$db" --group "$group" \
    --from 2100-01-01 --batch-size 1000000 --batch-ms 600000 2>"$tmp/$name-dying.log" &
  local dying=$!
  wait_log "$tmp/$name-dying.log" "partitions assigned" "first member"
  "$ECOM_BIN" sink mongo --topic-prefix "$prefix" --mongo-db "$db" --group "$group" \
    --until-end "$@" 2>"$tmp/$name-last.log" &
  local last=$!
  wait_log "$tmp/$name-last.log" "partitions assigned" "second member"
  kill -9 $dying
  wait $dying 2>/dev/null || true
  local first
  first=$(grep -m1 "partitions assigned" "$tmp/$name-last.log" | sed 's/.*count=//')
  # 4 topics of 3 partitions: shared means the second member was given fewer than all 12
  [ "$first" -lt 12 ] || fail "$name: the partitions were never shared (count=$first); the test proves nothing"
  wait_ok $last "$tmp/$name-last.log" "$name: the --until-end member"
  "$STORE_CENSUS" --no-hbase --mongo-db "$db" >"$tmp/$name.json"
  expect_eq "$name: transactions stored" "$want_txn" \
    "$(census_field "$tmp/$name.json" "['mongo']['transactions']['count']")"
  expect_eq "$name: users stored" "$want_users" \
    "$(census_field "$tmp/$name.json" "['mongo']['users']['count']")"
  grep -q "waiting for the others to reach their end" "$tmp/$name-last.log" ||
    fail "$name: the --until-end member never waited for the dead member's partitions"
  echo "ok: $name: started with $first of 12 partitions, ended with all of them read"
}

round dead_member "$(unique_name members_a)"
# the group's commits are now at the end of every partition, from the round above: a replay
# into an empty database must not take them for its own progress
round dead_member_replay "$(unique_name members_b)" --from earliest
