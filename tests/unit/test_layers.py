"""The import rules of .importlinter hold, and a break of them is caught (the lint step runs the same)."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.servers import REPO

LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def lint_imports(root: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(str(path) for path in (root / "backend", root, root / "deploy"))}
    cmd = [str(LINT_IMPORTS), "--no-cache", str(REPO / ".importlinter")]
    return subprocess.run(cmd, env=env, cwd=root, capture_output=True, text=True, timeout=120)


def test_the_code_keeps_every_import_contract():
    result = lint_imports(REPO)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "7 kept, 0 broken" in result.stdout


def lint_with(tmp_path: Path, module: str, source: str) -> subprocess.CompletedProcess:
    """lint-imports on a copy of the code with one more module (a path under the copy) holding `source`."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "static", "templates", "migrations")
    for package in ("backend", "bridge", "deploy/ops"):
        shutil.copytree(REPO / package, tmp_path / package, ignore=ignore)
    (tmp_path / module).write_text(source)
    result = lint_imports(tmp_path)
    assert result.returncode != 0
    return result


def test_a_core_module_importing_a_stage_breaks_the_layers(tmp_path):
    result = lint_with(tmp_path, "backend/intake/shortcut.py", "from mailer.services import confirmation_build\n")
    assert "intake.shortcut -> mailer.services" in result.stdout


def test_the_bridge_importing_a_stage_or_django_breaks_its_contract(tmp_path):
    result = lint_with(tmp_path, "bridge/shortcut.py", "import django.conf\nfrom workflow import steps\n")
    assert "bridge is not allowed to import django" in result.stdout
    assert "bridge.shortcut -> workflow.steps" in result.stdout


def test_one_stage_importing_the_other_breaks_their_independence(tmp_path):
    result = lint_with(tmp_path, "backend/workflow/shortcut.py", "from mailer import models\n")
    assert "workflow.shortcut -> mailer.models" in result.stdout


def test_the_cli_importing_django_or_a_lower_layer_importing_its_commands_breaks_the_rules(tmp_path):
    result = lint_with(tmp_path, "deploy/ops/shortcut.py", "from django.conf import settings\n")
    assert "ops.shortcut -> django" in result.stdout
    (tmp_path / "deploy" / "ops" / "shortcut.py").write_text("from ops.cli import main\n")
    (tmp_path / "deploy" / "ops" / "services.py").write_text(
        (tmp_path / "deploy" / "ops" / "services.py").read_text() + "\nfrom ops import cli  # noqa\n"
    )
    result = lint_imports(tmp_path)
    assert result.returncode != 0 and "ops.services -> ops.cli" in result.stdout
