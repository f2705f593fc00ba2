"""What `start`, `build`, `test`, `chaos` and `bench` install first, each part redone only when its
inputs change: Debian packages (as root), Apache Kafka's jars from Maven Central, the npm packages,
the frontend's build. The Python packages are the bootstrap's (deploy.sh), which runs this CLI.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from ops.console import Failure, error, note, progress, step, ticking

REPO_DIR = Path(__file__).resolve().parents[2]
KAFKA_RUNNER = REPO_DIR / "deploy" / "kafka" / "broker.py"
MIN_PYTHON = (3, 11)


def _stamp_ok(path: Path, value: str) -> bool:
    return path.is_file() and path.read_text().strip() == value


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", text)[:3])


def node_minimum() -> str:
    """The frontend's engines.node (">=20.19" gives 20.19): Vite's own floor."""
    try:
        wanted = json.loads((REPO_DIR / "frontend" / "package.json").read_text()).get("engines", {}).get("node", "")
    except (OSError, ValueError):
        return ""
    return re.sub(r"[^0-9.]", "", wanted)


def java_ok() -> bool:
    """A Java 17+ runtime (PATH or JAVA_HOME)."""
    return subprocess.run([sys.executable, KAFKA_RUNNER, "java"], capture_output=True).returncode == 0


def _java_found() -> str:
    java = f"{os.environ['JAVA_HOME']}/bin/java" if os.environ.get("JAVA_HOME") else "java"
    if not shutil.which(java):
        return "not found"
    result = subprocess.run([java, "-version"], capture_output=True, text=True)
    return (result.stderr or result.stdout).splitlines()[0] if (result.stderr or result.stdout) else "not found"


def check_tools() -> None:
    """The runtimes' versions, before anything is installed or started, each with what to do."""
    problems = []
    if sys.version_info[:2] < MIN_PYTHON:
        problems.append("Python 3.11+ is required; Debian 12 has it: apt-get install python3 python3-venv")
    want = node_minimum()
    node = ""
    if shutil.which("node"):
        node = subprocess.run(["node", "--version"], capture_output=True, text=True).stdout.strip()
    has_npm = shutil.which("npm") is not None
    if not node or _version(node) < _version(want or "0") or not has_npm:
        problems.append(
            f"Node.js {want or '20'}+ with npm is required (node: {node or 'not found'}; "
            f"npm: {'found' if has_npm else 'not found'}). Debian 12's own nodejs package is 18, too old: "
            "install Node.js 20 or 22 from NodeSource (https://github.com/nodesource/distributions) or with "
            "nvm (https://github.com/nvm-sh/nvm)"
        )
    # start installs Debian's Java 17 when it runs as root; anyone else must bring one.
    if os.geteuid() != 0 and not java_ok():
        problems.append(
            f"Java 17+ is required for Kafka (java: {_java_found()}): apt-get install openjdk-17-jre-headless "
            "as root, or point JAVA_HOME at a 17+ runtime"
        )
    if problems:
        for problem in problems:
            error(problem)
        raise Failure("nothing was installed or started")


def _has(package: str) -> bool:
    if package == "redis-server":
        return shutil.which("redis-server") is not None
    if package == "openjdk-17-jre-headless":
        return java_ok()
    if package == "maven":
        return shutil.which("mvn") is not None
    if package == "prometheus":
        return shutil.which("prometheus") is not None and shutil.which("promtool") is not None
    if package == "chromium":
        return os.access("/usr/bin/chromium", os.X_OK)
    return subprocess.run(["dpkg", "-s", package], capture_output=True).returncode == 0


def ensure_apt(*packages: str) -> None:
    missing = [package for package in packages if not _has(package)]
    if not missing:
        return
    if os.geteuid() != 0:
        raise Failure(
            f"missing Debian packages: {' '.join(missing)} (install them as root: apt-get install {' '.join(missing)})"
        )
    step(f"installing Debian packages: {' '.join(missing)}")
    ticking("apt-get update", ["apt-get", "update", "-qq"], lambda _: "apt-get update: still reading the package lists")
    ticking(
        "apt-get install",
        ["apt-get", "install", "-y", "-qq", *missing],
        lambda _: f"apt-get install: still installing {' '.join(missing)}",
        env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
    )


def _count_jars(folder: Path) -> int:
    """0 for a folder that does not exist yet (a first run has no ~/.m2); files Maven moves while
    the walk runs are skipped."""
    count = 0
    for _root, _dirs, files in os.walk(folder):
        count += sum(1 for name in files if name.endswith(".jar"))
    return count


def ensure_kafka() -> None:
    """Apache Kafka's jars from Maven Central (deploy/kafka/pom.xml), once per pom, with a line every
    5 s counting the jars Maven has fetched so far."""
    ensure_apt("openjdk-17-jre-headless", "maven")
    if not (REPO_DIR / "deploy" / "kafka" / "lib" / ".installed").is_file():
        version = subprocess.run([sys.executable, KAFKA_RUNNER, "version"], capture_output=True, text=True).stdout
        step(f"installing Apache Kafka {version.strip()} from Maven Central")
    m2 = Path.home() / ".m2" / "repository"
    before = _count_jars(m2)
    output = ticking(
        "the Kafka install (mvn dependency:copy-dependencies)",
        [sys.executable, KAFKA_RUNNER, "install"],
        lambda _: f"{_count_jars(m2) - before} jars downloaded into ~/.m2",
    )
    if output.strip():
        note(f"{_count_jars(REPO_DIR / 'deploy' / 'kafka' / 'lib')} jars in deploy/kafka/lib")


def _npm_progress():
    """npm's http log as progress: the packages fetched so far, at most every 5 s, then its summary."""
    state = {"fetched": 0, "shown": 0.0}

    def line_of(line: str, seconds: float) -> str | None:
        if "http fetch GET 200 " in line:
            state["fetched"] += 1
            if seconds - state["shown"] >= 5:
                state["shown"] = seconds
                return f"{state['fetched']} packages fetched"
            return None
        return line if line.startswith(("added ", "removed ", "changed ", "up to date")) else None

    return line_of


def ensure_npm(folder: Path) -> None:
    """npm ci from the lock file when it changed."""
    if not shutil.which("npm"):
        raise Failure("npm is required (./deploy.sh start checks the Node.js version and says how to get one)")
    digest = hashlib.sha256((folder / "package-lock.json").read_bytes()).hexdigest()
    stamp = folder / "node_modules" / ".installed"
    if _stamp_ok(stamp, digest):
        return
    shown = folder.relative_to(REPO_DIR)
    step(f"installing npm packages in {shown}")
    progress(
        f"npm ci in {shown}",
        ["npm", "ci", "--prefix", folder, "--no-audit", "--no-fund", "--loglevel=http"],
        _npm_progress(),
    )
    stamp.write_text(digest)


def _tree_digest(folder: Path, skip: tuple[str, ...]) -> str:
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and p.relative_to(folder).parts[0] not in skip):
        digest.update(str(path.relative_to(folder)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def build_frontend() -> None:
    frontend = REPO_DIR / "frontend"
    if not (frontend / "package.json").is_file():
        return
    ensure_npm(frontend)
    digest = _tree_digest(frontend, ("node_modules", "dist"))
    stamp = frontend / "dist" / ".built"
    if not _stamp_ok(stamp, digest):
        step("building the frontend (vite)")
        ticking(
            "the frontend build", ["npm", "run", "--prefix", frontend, "build"], lambda _: "vite build: still building"
        )
        stamp.write_text(digest)


def install_all(build: bool = True) -> None:
    """What a stack needs; `build=False` (./deploy.sh dev): the frontend's packages, not its build."""
    ensure_apt("redis-server", "prometheus")
    ensure_kafka()
    ensure_npm(REPO_DIR / "deploy" / "smtp")
    if build:
        build_frontend()
    else:
        ensure_npm(REPO_DIR / "frontend")
