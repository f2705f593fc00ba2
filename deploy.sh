#!/usr/bin/env bash
# The command line of the intake pipeline: `./deploy.sh help` lists its commands.
#
# This file only bootstraps: it checks Python, makes the virtualenv with the pinned packages
# (requirements/*.lock, every file hashed) and hands over to the operations CLI in deploy/ops
# (`python -m ops`, click), which does everything else: settings, installs, supervisord or Compose.
set -euo pipefail

REPO_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VENV="${VENV:-$REPO_DIR/.venv}"
fail() { printf 'error: %s\n' "$*" >&2; exit 1; }

# Help needs no virtualenv: a fresh clone can read it at once.
case "${1:-help}" in
  help | -h | --help) cat "$REPO_DIR/deploy/ops/usage.txt"; exit 0 ;;
esac

version="$(python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null)" || version=""
python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null ||
  fail "Python 3.11+ is required (python3: ${version:-not found}); Debian 12 has it: apt-get install python3 python3-venv"

# The tests, the fault suite and the benchmark need the test packages (a superset of the others).
case "$1" in test | chaos | bench) wanted="test" ;; *) wanted="local" ;; esac
digest="$(cat "$REPO_DIR"/requirements/*.lock "$REPO_DIR/pyproject.toml" | sha256sum | cut -d' ' -f1)"
stamp="$VENV/.installed"
installed="$(cat "$stamp" 2>/dev/null || true)"
if [[ "$installed" != "$digest-$wanted" && "$installed" != "$digest-test" ]]; then
  if [[ ! -x "$VENV/bin/python" ]]; then
    printf '==> creating the virtualenv in %s\n' "$VENV"
    python3 -m venv "$VENV" || fail "python3 -m venv failed (Debian: apt-get install python3-venv)"
  fi
  printf '==> installing Python packages (requirements/%s.lock: every version pinned, every file hashed)\n' "$wanted"
  start=$SECONDS
  # One progress line per package pip collects, one when it installs them; the whole output on failure.
  log="$(mktemp)"
  if ! "$VENV/bin/pip" install --disable-pip-version-check --progress-bar off --require-hashes \
    -r "$REPO_DIR/requirements/$wanted.lock" 2>&1 | tee "$log" |
    while IFS= read -r line; do
      case "$line" in
        "Collecting "*) line="${line#Collecting }"; printf '    [%3ds] collecting %s\n' $((SECONDS - start)) "${line%% (*}" >&2 ;;
        "Installing collected packages: "*) printf '    [%3ds] installing\n' $((SECONDS - start)) >&2 ;;
      esac
    done; then  # pipefail: pip's status
    tail -n 40 "$log" >&2
    fail "pip install failed"
  fi
  rm -f "$log"
  printf '==> installing the project'"'"'s own packages (pyproject.toml; editable: they run from the repository)\n'
  "$VENV/bin/pip" install --disable-pip-version-check --quiet --no-deps -e "$REPO_DIR" || fail "pip install -e . failed"
  echo "$digest-$wanted" >"$stamp"
fi

export VENV
exec "$VENV/bin/python" -m ops "$@"
