#!/usr/bin/env bash
# The front door as a newcomer meets it: `scripts/demo` (what `make demo` runs once it has built)
# on a machine where nothing runs yet, with the demo's own defaults and no warm-up.
#   - a fresh network namespace (so 127.0.0.1 is a new machine's: no service of another stack
#     answers on its ports) and a fresh ECOM_STACK_DIR, so the demo starts the stack from cold;
#   - once the demo prints the dashboard's address, every process it started stays alive for
#     about a minute (DEMO_COLD_SECONDS) while headless Chromium watches the page fill in and
#     change live (tests/browser/demo_live.mjs);
#   - then SIGINT to the demo's process group, as Ctrl-C in a terminal sends it: every process
#     the demo started exits, the stack too (the demo started it), and the demo exits 0.
source "$(dirname "$0")/lib.sh"
repo=$(cd "$(dirname "$0")/../.." && pwd)
: "${DEMO_COLD_SECONDS:=60}"
: "${DEMO_COLD_UP_TIMEOUT:=900}"

if [ -z "${DEMO_COLD_IN_NETNS:-}" ]; then
  if unshare --net true 2>/dev/null; then
    exec unshare --net env DEMO_COLD_IN_NETNS=1 bash "$0" "$@"
  fi
  # no namespace to be had (not root): the machine itself must be as fresh as a newcomer's
  for port in 6379 27017 9092 2181 9090 9091 8080; do
    ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null ||
      fail "port $port is taken: this test needs a fresh network namespace (run it as root) or a machine where no stack runs"
  done
else
  ip link set lo up || fail "cannot bring up loopback in the test's network namespace"
fi

[ -x "$repo/build/ecom" ] || fail "$repo/build/ecom is missing: the demo runs the release build (make build)"
tmp="$ECOM_TEST_TMP/demo_cold"
rm -rf "$tmp"
mkdir -p "$tmp"
export ECOM_STACK_DIR="$tmp/stack"
unset DEMO_SCALE DEMO_RATE DEMO_LISTEN ECOM_TOPIC_PREFIX ECOM_REDIS_PREFIX
out="$ECOM_STACK_DIR/demo"
url="http://127.0.0.1:8080/"

# launch_demo OUT: the demo in a process group of its own, as a terminal runs a foreground job,
# its output in OUT; sets demo (its pid, which leads the group). Not as a plain `&` job: a
# non-interactive shell starts those with SIGINT ignored, and a shell started with a signal
# ignored can never trap it, which is not how a person's Ctrl-C meets the demo.
launch_demo() {
  rm -f "$tmp/demo.pid"
  python3 -c '
import os, signal, sys
signal.signal(signal.SIGINT, signal.SIG_DFL)
signal.signal(signal.SIGQUIT, signal.SIG_DFL)
os.setsid()
open(sys.argv[1], "w").write(str(os.getpid()))
os.execv(sys.argv[2], sys.argv[2:])
' "$tmp/demo.pid" "$repo/scripts/demo" >"$1" 2>&1 &
  demo=$!
  for _ in $(seq 1 50); do [ -s "$tmp/demo.pid" ] && break; sleep 0.1; done
  expect_eq "the demo's pid" "$demo" "$(cat "$tmp/demo.pid")"
}
# running PID: the process exists and is not a zombie waiting for its parent to reap it
running() {
  local state
  state=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
  [ -n "$state" ] && [ "$state" != Z ] && [ "$state" != X ]
}
services=()
cleanup() {
  local line
  kill -TERM -- "-$demo" 2>/dev/null || true
  for line in "${services[@]}"; do kill -TERM "${line%% *}" 2>/dev/null || true; done
  wait "$demo" 2>/dev/null || true
  "$repo/compose/local/stack" down >/dev/null 2>&1 || true
}
trap cleanup EXIT
launch_demo "$tmp/demo.out"

show_logs() {
  echo "--- demo output" >&2
  tail -30 "$tmp/demo.out" >&2
  for f in "$out"/*.log; do
    [ -f "$f" ] || continue
    echo "--- $(basename "$f")" >&2
    tail -8 "$f" >&2
  done
}

t0=$(date +%s)
until grep -q "dashboard *http://" "$tmp/demo.out"; do
  kill -0 "$demo" 2>/dev/null || { show_logs; fail "the demo exited before it showed the dashboard"; }
  [ $(($(date +%s) - t0)) -lt "$DEMO_COLD_UP_TIMEOUT" ] ||
    { show_logs; fail "the demo showed no dashboard within $DEMO_COLD_UP_TIMEOUT s"; }
  sleep 1
done
echo "ok: from cold, the demo showed the dashboard after $(($(date +%s) - t0)) s"

# what the demo started: its ecom services (its children) and the stack (its pid files)
mapfile -t services < <(ps -o pid=,args= --ppid "$demo" | awk '$2 ~ /(^|\/)ecom$/ {$1 = $1; print}')
expect_eq "ecom services the demo runs" 5 "${#services[@]}"
printf '  %s\n' "${services[@]}"
stack=()
for f in "$ECOM_STACK_DIR"/run/*.pid; do stack+=("$(basename "$f" .pid):$(cat "$f")"); done
[ "${#stack[@]}" -ge 5 ] || fail "the demo's stack runs ${#stack[@]} services: ${stack[*]}"
echo "ok: the demo started the stack: ${stack[*]}"

all_alive() { # every process the demo started still runs
  local line
  running "$demo" || { show_logs; fail "the demo itself exited"; }
  for line in "${services[@]}"; do
    running "${line%% *}" || { show_logs; fail "a service died: $line"; }
  done
  for line in "${stack[@]}"; do
    running "${line#*:}" || { show_logs; fail "a stack service died: ${line%%:*}"; }
  done
}

node "$repo/tests/browser/demo_live.mjs" --url "$url" --seconds "$DEMO_COLD_SECONDS" \
  --screenshot "$tmp/demo.png" || { show_logs; fail "the page did not stay filled and live"; }
all_alive
echo "ok: every process the demo started ran throughout (screenshot: $tmp/demo.png)"
! grep -il "segmentation fault\|core dumped\|AddressSanitizer" "$tmp/demo.out" "$out"/*.log ||
  { show_logs; fail "a process crashed"; }

# Ctrl-C
kill -INT -- "-$demo"
t0=$(date +%s)
while kill -0 "$demo" 2>/dev/null; do
  [ $(($(date +%s) - t0)) -lt 180 ] || { show_logs; fail "the demo did not stop within 180 s of SIGINT"; }
  sleep 1
done
rc=0
wait "$demo" || rc=$?
grep -q "demo: stopping" "$tmp/demo.out" || { show_logs; fail "the demo did not say it was stopping"; }
expect_eq "the demo's exit status after Ctrl-C" 0 "$rc"
for line in "${services[@]}"; do
  ! running "${line%% *}" || fail "still running after the demo exited: $line"
done
for line in "${stack[@]}"; do
  ! running "${line#*:}" || fail "the stack's ${line%%:*} still runs after the demo exited"
done
echo "ok: Ctrl-C stopped every service and the stack the demo started, and the demo exited 0 in $(($(date +%s) - t0)) s"

# ---- a service that dies: the demo names it, shows the end of its log, stops everything, exits 1
launch_demo "$tmp/demo2.out"
t0=$(date +%s)
until grep -q "demo: backfilling" "$tmp/demo2.out"; do
  kill -0 "$demo" 2>/dev/null || { tail -20 "$tmp/demo2.out"; fail "the second demo exited early"; }
  [ $(($(date +%s) - t0)) -lt "$DEMO_COLD_UP_TIMEOUT" ] || fail "the second demo started no services"
  sleep 1
done
mapfile -t services < <(ps -o pid=,args= --ppid "$demo" | awk '$2 ~ /(^|\/)ecom$/ {$1 = $1; print}')
victim=$(printf '%s\n' "${services[@]}" | awk '/ecom dashboard/ {print $1}')
[ -n "$victim" ] || fail "no dashboard among the demo's services: ${services[*]}"
sleep 2
kill -KILL "$victim"
t0=$(date +%s)
while kill -0 "$demo" 2>/dev/null; do
  [ $(($(date +%s) - t0)) -lt 180 ] || fail "the demo went on for 180 s with its dashboard dead"
  sleep 1
done
rc=0
wait "$demo" || rc=$?
expect_eq "the demo's exit status once its dashboard died" 1 "$rc"
grep -q "demo: dashboard exited (status 137); the end of its log" "$tmp/demo2.out" ||
  { tail -20 "$tmp/demo2.out"; fail "the demo did not say that the dashboard died"; }
last=$(tail -n 1 "$ECOM_STACK_DIR/demo/dashboard.log")
grep -qF "    $last" "$tmp/demo2.out" || { tail -20 "$tmp/demo2.out"; fail "the demo did not show the dashboard's log"; }
for line in "${services[@]}"; do
  ! running "${line%% *}" || fail "still running after the demo gave up: $line"
done
! "$repo/compose/local/stack" status >/dev/null 2>&1 || fail "the stack the demo started still runs"
echo "ok: a dashboard killed mid-backfill: the demo named it with its log, stopped the rest and the stack, exit 1"
