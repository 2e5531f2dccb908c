#!/usr/bin/env bash
# Runs one harness for FUZZ_SECONDS (default 20) from its seeds and the corpus earlier runs
# grew, under ASan and UBSan. A crash, a leak or a broken property fails the run; libFuzzer
# leaves the input under artifacts/ and prints how to replay it.
#
# A harness with a dictionary beside this script (NAME.dict) is given it.
#
# usage: run.sh HARNESS NAME WORK_DIR   (seeds in WORK_DIR/seeds/NAME, from seeds.sh)
set -euo pipefail
harness=$1
name=$2
work=$3
: "${FUZZ_SECONDS:=20}"
corpus="$work/corpus/$name"
mkdir -p "$corpus" "$work/artifacts"
[ -d "$work/seeds/$name" ] || { echo "no seeds in $work/seeds/$name: run seeds.sh first" >&2; exit 1; }
dict=()
[ -f "$(dirname "$0")/$name.dict" ] && dict=(-dict="$(dirname "$0")/$name.dict")
exec "$harness" -max_total_time="$FUZZ_SECONDS" -timeout=10 -rss_limit_mb=2048 "${dict[@]}" \
  -print_final_stats=1 -artifact_prefix="$work/artifacts/$name-" "$corpus" "$work/seeds/$name"
