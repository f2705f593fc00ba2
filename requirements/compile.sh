#!/usr/bin/env bash
# Lock every Python package, with hashes: requirements/*.txt say what we want, requirements/*.lock
# what is installed (pip install --require-hashes). Run after changing a .txt file:
#   requirements/compile.sh        (uv from PyPI, in a throwaway virtualenv)
# test.lock is resolved first; the others take its versions, so every install runs the same ones.
set -euo pipefail
cd "$(dirname "$0")"
tools="$(mktemp -d)"
trap 'rm -rf "$tools"' EXIT
python3 -m venv "$tools" && "$tools/bin/pip" install --quiet --disable-pip-version-check "uv==0.13.9"
compile() {  # input, output, extra options
  "$tools/bin/uv" pip compile --quiet --universal --python-version 3.11 --generate-hashes \
    --custom-compile-command "requirements/compile.sh" "$1" -o "$2" "${@:3}"
}
compile test.txt test.lock
compile local.txt local.lock --constraint test.lock
compile base.txt base.lock --constraint test.lock
