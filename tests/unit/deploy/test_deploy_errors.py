"""No silent exit: where ./deploy.sh stops on an error, it names the step, the command and the line."""

import os
import re
import subprocess

from tests.servers import REPO


def deploy(*args: str, **env: str) -> subprocess.CompletedProcess:
    environment = {**os.environ, "ENV_FILE": "/dev/null", "DEPLOY_MODE": "local", **env}
    return subprocess.run(["./deploy.sh", *args], cwd=REPO, env=environment, capture_output=True, text=True, timeout=60)


def test_a_failing_command_is_named_with_its_line_and_function():
    # /dev/null is a file: the run directory cannot be made under it, and mkdir fails as set -e ends the script.
    result = deploy("scale", "mailer", "2", RUN_DIR="/dev/null/run")
    assert result.returncode == 1
    match = re.search(
        r'error: "(.+)" failed at deploy\.sh line (\d+) \(in (.+)\): this command exited with status 1:\n  (.+)',
        result.stderr,
    )
    assert match, result.stderr
    step, line, functions, command = match.groups()
    assert step == "./deploy.sh scale"
    assert functions.startswith("local_scale < ")
    assert command == 'mkdir -p "$RUN_DIR/scale"'
    assert (REPO / "deploy.sh").read_text().splitlines()[int(line) - 1].strip() == command


def test_a_failure_inside_a_step_names_that_step(tmp_path):
    # A `sha256sum` that fails: the first step that hashes its inputs is the Python packages' one.
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "sha256sum").write_text("#!/bin/sh\nexit 7\n")
    (fake / "sha256sum").chmod(0o755)
    result = deploy("build", PATH=f"{fake}:{os.environ['PATH']}")
    assert result.returncode != 0
    assert re.search(r'error: ".+" failed at deploy\.sh line \d+ \(in \w+ < ', result.stderr), result.stderr


def test_an_unknown_command_says_so():
    result = deploy("frobnicate")
    assert result.returncode == 1
    assert "error: unknown command 'frobnicate'" in result.stderr
