# Sourced by the benchmarks whose peers are Python: peer_venv VENV REQUIREMENTS MODULE... makes
# the virtualenv VENV (outside the clone, under ~/.cache/ecom) and installs the pinned
# REQUIREMENTS from PyPI into it, once: when VENV's Python imports every MODULE, nothing is asked
# of the network, so a filled cache works offline.
peer_venv() {
  local venv=$1 requirements=$2
  shift 2
  local modules
  modules=$(IFS=,; echo "$*")
  if ! "$venv/bin/python" -c "import $modules" 2>/dev/null; then
    echo "bench: installing $requirements into $venv" >&2
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q -r "$requirements" >&2
  fi
}
