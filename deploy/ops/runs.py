"""The verbs that run the project's own suites: `test`, `chaos` and `bench`. Each starts its own
servers with its own settings, so a developer's `.env` and running stack are left alone."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from ops import install
from ops.console import Failure, error, quiet, step
from ops.settings import REPO_DIR

VENV_BIN = Path(sys.executable).parent


def shell_scripts() -> list[str]:
    """The repository's shell scripts: *.sh and files whose first line names sh or bash."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=REPO_DIR,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    scripts = []
    for name in listed:
        path = REPO_DIR / name
        if not path.is_file():
            continue
        with path.open("rb") as handle:
            first = handle.readline().decode(errors="replace").strip()
        if name.endswith(".sh") or (first.startswith("#!") and first.split("/")[-1].split()[-1] in ("sh", "bash")):
            scripts.append(name)
    return scripts


def lint() -> bool:
    """ruff, the import rules (.importlinter) and shellcheck; True when all pass."""
    ok = True
    for command in (
        [VENV_BIN / "ruff", "check", "--quiet", "."],
        [VENV_BIN / "ruff", "format", "--check", "--quiet", "."],
    ):
        ok = subprocess.run(command, cwd=REPO_DIR).returncode == 0 and ok
    imports = subprocess.run(
        [VENV_BIN / "lint-imports", "--no-cache", ".importlinter"], cwd=REPO_DIR, capture_output=True, text=True
    )
    if imports.returncode != 0:
        out = imports.stdout
        print(out[out.find("Broken contracts") :] if "Broken contracts" in out else out)
        ok = False
    return subprocess.run(["shellcheck", *shell_scripts()], cwd=REPO_DIR).returncode == 0 and ok


def run_tests(pytest_args: list[str]) -> int:
    install.check_tools()
    install.ensure_apt("redis-server", "chromium", "shellcheck", "prometheus")  # promtool: the alert rules
    install.ensure_kafka()
    install.ensure_npm(REPO_DIR / "deploy" / "smtp")
    install.build_frontend()
    code = 0
    step("lint (ruff check, ruff format --check, import rules, shellcheck)")
    if not lint():
        code = 1
    if (REPO_DIR / "frontend" / "package.json").is_file():
        step("frontend component tests (vitest)")
        if subprocess.run(["npm", "test", "--silent"], cwd=REPO_DIR / "frontend").returncode != 0:
            code = 1
    step("Python tests: unit, integration, end-to-end (pytest)")
    pytest_code = subprocess.run([VENV_BIN / "python", "-m", "pytest", *pytest_args], cwd=REPO_DIR).returncode
    if pytest_code == 5:  # no test ran: a failure here, never a silent pass
        error("pytest collected no tests")
        pytest_code = 1
    return pytest_code or code


def run_chaos(count: int, cases: list[str], cluster: bool = False) -> int:
    install.check_tools()
    if cluster:
        install.ensure_apt("postgresql")
        install.install_all(build=True)  # the cluster is started as `start` starts it
        step(
            f"cluster fault suite: {count} submissions at 10/s per case on PostgreSQL, three brokers and "
            "two of every stateless service (its own ports, run directory and data)"
        )
    else:
        install.ensure_apt("redis-server")
        install.ensure_kafka()
        install.ensure_npm(REPO_DIR / "deploy" / "smtp")
        step(f"fault suite: {count} submissions at 30/s per case (its own servers on free ports)")
    module = "tests.cluster_faults" if cluster else "tests.faults"
    # It prints its own verdict.
    return subprocess.run([VENV_BIN / "python", "-m", module, "--count", str(count), *cases], cwd=REPO_DIR).returncode


class ThrowawayPostgres:
    """A PostgreSQL cluster for the benchmark and the cluster fault suite, in the system's temporary
    folder: the server runs as the postgres user when we are root (initdb refuses root), and that user
    cannot reach a clone under a home such as /root (mode 700)."""

    def __init__(self, port: int):
        install.ensure_apt("postgresql")
        bins = sorted(
            Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: [int(x) for x in p.parent.name.split(".")]
        )
        if not bins or not (bins[-1] / "initdb").exists():
            raise Failure("PostgreSQL's initdb not found under /usr/lib/postgresql")
        self.bin, self.port = bins[-1], port
        self.dir = Path(tempfile.mkdtemp(prefix="intake-pg.", dir=os.environ.get("TMPDIR")))
        self.as_user: list[str] = []
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres")
            self.as_user = ["runuser", "-u", "postgres", "--"]

    def start(self) -> str:
        step(f"a throwaway PostgreSQL in {self.dir}")
        quiet("initdb", [*self.as_user, self.bin / "initdb", "-D", self.dir, "-A", "trust", "-U", "postgres"])
        # synchronous_commit=off: the durability of SQLite's synchronous=NORMAL (a power loss can lose
        # the last commits, a crash of a process cannot), so the two are compared on equal terms.
        options = (
            f"-p {self.port} -k /tmp -c listen_addresses=127.0.0.1 -c max_connections=300 "
            "-c shared_buffers=256MB -c synchronous_commit=off"
        )
        quiet(
            "pg_ctl start",
            [
                *self.as_user,
                self.bin / "pg_ctl",
                "-D",
                self.dir,
                "-w",
                "-l",
                self.dir / "server.log",
                "-o",
                options,
                "start",
            ],
        )
        quiet(
            "createdb",
            [*self.as_user, self.bin / "createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "intake"],
        )
        # Its CPU and memory count too.
        os.environ["BENCH_EXTRA_PIDS"] = f"postgresql={(self.dir / 'postmaster.pid').read_text().splitlines()[0]}"
        return f"postgres://postgres@127.0.0.1:{self.port}/intake"

    def stop(self, keep: bool) -> None:
        quiet("pg_ctl stop", [*self.as_user, self.bin / "pg_ctl", "-D", self.dir, "-m", "fast", "stop"])
        if not keep:
            shutil.rmtree(self.dir, ignore_errors=True)


def bench_environment(postgres: bool) -> tuple[Path, Path]:
    """The benchmark's own ports, data and run directory (a running stack stays untouched), each
    overridable; returns (data folder, output folder)."""
    env = os.environ
    data = Path(env.get("BENCH_DATA_DIR") or REPO_DIR / "data" / "bench")
    out = Path(env.get("BENCH_OUT") or REPO_DIR / "bench-results" / ("postgresql" if postgres else "sqlite"))
    env["RUN_DIR"] = env.get("BENCH_RUN_DIR") or str(REPO_DIR / ".run-bench")
    env["ENV_FILE"] = "/dev/null"
    ports = {
        "API_PORT": "5100",
        "STREAM_PORT": "5101",
        "CRM_PORT": "8101",
        "REDIS_PORT": "6479",
        "SMTP_PORT": "1125",
        "MAILDEV_WEB_PORT": "1180",
        "FLOWER_PORT": "5655",
        "FRONTEND_PORT": "3100",
        "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:9192",
    }
    for name, value in ports.items():
        env.setdefault(name, value)
    env["KAFKA_DATA_DIR"] = str(data / "kafka")
    env["DATABASE_URL"] = env.get("BENCH_DATABASE_URL") or f"sqlite:///{data / 'db.sqlite3'}"
    env["CRM_DATABASE_URL"] = f"sqlite:///{data / 'crm.sqlite3'}"
    env.setdefault("DJANGO_SECRET_KEY", os.urandom(36).hex())
    # As users run it (every default, LOG_LEVEL included, unless set in this environment), with the
    # per-address limit lifted (one client sends everything), the synchronous baseline endpoint on for
    # the comparison, and its 1,000 live viewers from one address.
    env.update(SUBMISSION_RATE_LIMIT="1000000/minute", BENCH_BASELINE="true", STREAM_MAX_PER_CLIENT="1000000")
    return data, out
