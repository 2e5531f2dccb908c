#!/usr/bin/env bash
# The containerised deployment, checked without a Docker engine: docker-compose accepts
# compose/docker-compose.yml, and every `ecom` command line it runs exists in this very binary
# (the subcommand, and each flag in that subcommand's --help), as does every ECOM_* variable it
# sets (some command's --help lists it as [env: ...]). A renamed option then breaks this test
# instead of a container at `docker compose up`.
#
# Needs: docker-compose (1.29, Debian's) and python3 with yaml (python3-yaml).
# DOCKER_COMPOSE may name another implementation, e.g. DOCKER_COMPOSE="docker compose".
source "$(dirname "$0")/lib.sh"

root=$(cd "$(dirname "$0")/../.." && pwd)
compose_file="$root/compose/docker-compose.yml"
read -r -a compose <<<"${DOCKER_COMPOSE:-docker-compose}"

[ -x "$ECOM_BIN" ] || fail "ECOM_BIN=$ECOM_BIN is not an executable"
[ -f "$compose_file" ] || fail "$compose_file is missing"
command -v "${compose[0]}" >/dev/null ||
  fail "${compose[0]} not found: install Debian's docker-compose (or set DOCKER_COMPOSE)"
# python3-yaml installs for Debian's own python3, which may not be first on PATH
py=python3
python3 -c 'import yaml' 2>/dev/null || py=/usr/bin/python3
"$py" -c 'import yaml' 2>/dev/null || fail "python3 cannot import yaml: install python3-yaml"

# ---- the file is valid Compose --------------------------------------------------------------
errors="$ECOM_TEST_TMP/compose_check.errors"
"${compose[@]}" -f "$compose_file" config -q 2>"$errors" || {
  cat "$errors" >&2
  fail "${compose[*]} -f compose/docker-compose.yml config -q rejects the file (above)"
}
echo "ok: ${compose[*]} config -q accepts compose/docker-compose.yml"

# The normalised form (anchors and merges resolved, one shape per key) is what gets parsed.
config="$ECOM_TEST_TMP/compose_check.config.yml"
"${compose[@]}" -f "$compose_file" config >"$config" 2>"$errors" || {
  cat "$errors" >&2
  fail "${compose[*]} config could not print the normalised file"
}

# ---- what the file runs ---------------------------------------------------------------------
# One shell-quoted line per `ecom` invocation: "run SERVICE ARG...", and one per ECOM_* variable
# set anywhere: "env NAME SERVICE...". An ecom service is one built from compose/Dockerfile, or one
# running an image such a service builds; its entrypoint is the image's (`ecom`) unless
# overridden, and without a command it runs the image's CMD (`help`).
runs="$ECOM_TEST_TMP/compose_check.runs"
"$py" - "$config" >"$runs" <<'PY' || fail "could not extract the ecom command lines (above)"
import os, shlex, sys, yaml

services = (yaml.safe_load(open(sys.argv[1])) or {}).get("services") or {}

def argv(value):
    """A command or entrypoint, list or string, as argv; `$$` is Compose's escaped `$`."""
    if value is None:
        return None
    words = shlex.split(value) if isinstance(value, str) else [str(w) for w in value]
    return [w.replace("$$", "$") for w in words]

def is_ecom(word):
    return os.path.basename(word) == "ecom"

def builds_ecom(s):
    """Built from compose/Dockerfile (other images, such as HBase's, have Dockerfiles of their own)."""
    b = s.get("build")
    if not b:
        return False
    dockerfile = b.get("dockerfile", "Dockerfile") if isinstance(b, dict) else "Dockerfile"
    return os.path.normpath(dockerfile) == os.path.normpath("compose/Dockerfile")

built = {s.get("image") for s in services.values() if builds_ecom(s)}
out, found, env_users = [], 0, {}
for name, s in sorted(services.items()):
    if builds_ecom(s) or (s.get("image") and s.get("image") in built):
        found += 1
        entry = argv(s.get("entrypoint"))
        cmd = argv(s.get("command"))
        if entry is None:
            args = cmd if cmd is not None else ["help"]
        elif entry and is_ecom(entry[0]):
            args = entry[1:] + (cmd or [])
        else:
            sys.exit(f"service {name}: entrypoint {entry} is not ecom, its command cannot be checked")
        out.append(["run", name] + args)
    test = argv((s.get("healthcheck") or {}).get("test"))
    if test and test[0] == "CMD" and len(test) > 1 and is_ecom(test[1]):
        out.append(["run", f"{name}/healthcheck"] + test[2:])
    env = s.get("environment") or {}
    for n in env.keys() if isinstance(env, dict) else [e.split("=", 1)[0] for e in env]:
        if n.startswith("ECOM_"):
            env_users.setdefault(n, []).append(name)
if not found:
    sys.exit("no service runs the ecom image (none builds compose/Dockerfile)")
out += [["env", n] + users for n, users in sorted(env_users.items())]
for line in out:
    print(" ".join(shlex.quote(w) for w in line))
PY

# ---- what the binary offers -----------------------------------------------------------------
# The flags a help text declares: the option column of its "options:" section.
declared_flags() { # declared_flags HELP_TEXT
  printf '%s\n' "$1" | sed -n '/^options:/,$p' |
    sed -nE 's/^ +(-[A-Za-z0-9])?(, )?(--[A-Za-z0-9][A-Za-z0-9-]*)?.*/\1 \3/p' |
    tr ' ' '\n' | grep -v '^$' || true
}

# Every command `ecom help` lists ("sink mongo" is one command of two words), and each one's help.
mapfile -t commands < <("$ECOM_BIN" help | sed -n '/^commands:/,/^$/p' |
  sed -nE 's/^  (([a-z]+ )*[a-z]+)  .*/\1/p')
[ ${#commands[@]} -gt 0 ] || fail "\`$ECOM_BIN help\` lists no commands"
all_help=""
for c in "${commands[@]}"; do
  [ "$c" = help ] && continue
  read -r -a words <<<"$c"
  all_help+=$("$ECOM_BIN" "${words[@]}" --help 2>/dev/null)$'\n' || fail "\`ecom $c --help\` failed"
done

# ---- every ecom command line ----------------------------------------------------------------
checked=0 rec=()
while IFS= read -r line; do
  eval "rec=($line)"
  [ "${rec[0]}" = run ] || continue
  service=${rec[1]}
  args=("${rec[@]:2}")
  shown="ecom ${args[*]}"

  # The subcommand is the longest run of leading words whose --help is that command's own:
  # `sink mongo` (`sink` alone is no command), but `init` for `init extra-word`.
  words=()
  for a in "${args[@]}"; do
    [[ $a == -* ]] && break
    words+=("$a")
  done
  [ ${#words[@]} -gt 0 ] || fail "service $service: \`$shown\` names no subcommand"
  help="" n=0
  for ((k = ${#words[@]}; k > 0; k--)); do
    if [ "${words[0]}" = help ] && [ "$k" -eq 1 ]; then
      "$ECOM_BIN" help >/dev/null 2>&1 && { help=$("$ECOM_BIN" help); n=1; }
      break
    fi
    out=$("$ECOM_BIN" "${words[@]:0:k}" --help 2>/dev/null) || continue # help is on stdout
    usage=$(head -n 1 <<<"$out")
    if [ "$usage" = "usage: ecom ${words[*]:0:k}" ] || [[ $usage == "usage: ecom ${words[*]:0:k} "* ]]; then
      help=$out n=$k
      break
    fi
  done
  [ "$n" -gt 0 ] ||
    fail "service $service: \`$shown\`: '${words[*]}' is not an ecom command (\`ecom help\` lists them)"
  cmd="${words[*]:0:n}"

  flags=$(declared_flags "$help")
  used=0
  for a in "${args[@]:n}"; do
    case $a in
      --?*) flag=${a%%=*} ;;
      -[A-Za-z]*) flag=${a:0:2} ;;  # -X and -XKEY=VALUE
      *) continue ;;                 # values, including "-" and negative numbers
    esac
    grep -Fxq -- "$flag" <<<"$flags" ||
      fail "service $service: \`$shown\`: $flag is not an option of \`ecom $cmd\` (see ecom $cmd --help)"
    used=$((used + 1))
  done
  echo "ok: $service runs \`$shown\` (command \`ecom $cmd\`, $used flag(s), all in its --help)"
  checked=$((checked + 1))
done <"$runs"
[ "$checked" -gt 0 ] || fail "found no ecom command line in compose/docker-compose.yml"

# ---- every ECOM_* variable ------------------------------------------------------------------
while IFS= read -r line; do
  eval "rec=($line)"
  [ "${rec[0]}" = env ] || continue
  var=${rec[1]} users="${rec[*]:2}"
  grep -Fq -- "[env: $var]" <<<"$all_help" ||
    fail "$var (set for ${users// /, }) is read by no ecom command: no [env: $var] in any --help"
  echo "ok: $var (set for ${users// /, }) is an ecom setting ([env: $var])"
done <"$runs"

echo "ok: compose/docker-compose.yml runs $checked ecom command line(s), all known to $ECOM_BIN"

# ---- the image's build stage compiles -------------------------------------------------------
# No engine builds the image here, so its build stage is replayed by hand: exactly the files its
# COPY lines take (the page from this checkout's own build), then its cmake/ninja RUN line. A
# source folder the Dockerfile does not copy, or a warning only its Release flags raise, fails
# here rather than in `docker compose build`.
dockerfile="$root/compose/Dockerfile"
context="$ECOM_TEST_TMP/compose_check.context"
rm -rf "$context"
mkdir -p "$context"
stage=$(awk '/^FROM .* AS build$/ {on = 1; next} /^FROM / {on = 0} on' "$dockerfile")
[ -n "$stage" ] || fail "compose/Dockerfile has no 'FROM ... AS build' stage"
while read -r word src dst _; do
  [ "$word" = COPY ] || continue
  case $src in
    --from=web) src=dashboard/web/dist ;;  # the page stage's output, built here by `make build`
    --*) fail "compose/Dockerfile: COPY option $src is not understood by this check" ;;
  esac
  [ -e "$root/$src" ] || fail "compose/Dockerfile copies $src, which does not exist"
  mkdir -p "$context/$(dirname "$src")"
  cp -r "$root/$src" "$context/$src"
done <<<"$stage"
build_run=$(sed -n '/^RUN cmake /,/[^\\]$/p' <<<"$stage" | sed 's/^RUN //')
[ -n "$build_run" ] || fail "compose/Dockerfile's build stage has no 'RUN cmake ...' line"
(cd "$context" && bash -euo pipefail -c "$build_run") >"$context.log" 2>&1 || {
  tail -30 "$context.log" >&2
  fail "compose/Dockerfile's build stage does not compile (its files and RUN line, replayed above)"
}
"$context/build/ecom" help >/dev/null || fail "the image's binary does not run"
echo "ok: compose/Dockerfile's build stage compiles from exactly the files it copies"
