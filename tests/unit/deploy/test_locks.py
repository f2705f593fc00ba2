"""Locked dependencies (finding 11 of "Safe by default, round two": 21 of 57 packages pinned, none
with hashes): every install reads a requirements/*.lock in which every package, direct or not, has
one version and the hashes of its files, made from the requirements/*.txt by requirements/compile.sh."""

import re
from pathlib import Path

import pytest

REQUIREMENTS = Path(__file__).resolve().parents[3] / "requirements"
PIN = re.compile(r"^([A-Za-z0-9_.\[\],-]+)==([^\s;\\]+)")


def locked(name: str) -> dict[str, tuple[str, int]]:
    """Package → (version, number of hashes) of a lock file."""
    found: dict[str, tuple[str, int]] = {}
    current = None
    for line in (REQUIREMENTS / f"{name}.lock").read_text().splitlines():
        if match := PIN.match(line):
            current = re.sub(r"\[.*\]", "", match.group(1)).lower().replace("_", "-")
            found[current] = (match.group(2), 0)
        elif line.strip().startswith("--hash=sha256:") and current:
            version, hashes = found[current]
            found[current] = (version, hashes + 1)
        elif line.strip() and not line.lstrip().startswith("#"):
            assert line.startswith(" "), f"{name}.lock: a line that is not a pinned package: {line!r}"
    return found


def wanted(name: str) -> dict[str, str]:
    """Package → version pinned in a requirements/*.txt, with the files it includes."""
    pins: dict[str, str] = {}
    for line in (REQUIREMENTS / f"{name}.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line.startswith("-r "):
            pins.update(wanted(line[3:].removesuffix(".txt")))
        elif line:
            match = PIN.match(line)
            assert match, f"{name}.txt: {line!r} is not pinned with =="
            pins[re.sub(r"\[.*\]", "", match.group(1)).lower().replace("_", "-")] = match.group(2)
    return pins


@pytest.mark.parametrize("name", ["base", "local", "test"])
def test_every_package_of_a_lock_has_one_version_and_its_hashes(name):
    packages = locked(name)
    assert len(packages) > len(wanted(name))  # the dependencies' dependencies are locked too
    assert [package for package, (_, hashes) in packages.items() if hashes == 0] == []


@pytest.mark.parametrize("name", ["base", "local", "test"])
def test_each_lock_holds_what_its_txt_asks_for(name):
    packages = locked(name)
    assert {package: packages.get(package, ("missing",))[0] for package in wanted(name)} == wanted(name)


@pytest.mark.parametrize("name", ["base", "local"])
def test_every_install_runs_the_test_locks_versions(name):
    test = locked("test")
    assert {package: version for package, (version, _) in locked(name).items()} == {
        package: test[package][0] for package in locked(name)
    }


def test_installs_read_the_locks_with_hashes_required():
    repo = REQUIREMENTS.parent
    bootstrap = " ".join((repo / "deploy.sh").read_text().replace("\\\n", " ").split())
    assert '--require-hashes -r "$REPO_DIR/requirements/$wanted.lock"' in bootstrap
    assert "--require-hashes -r requirements/base.lock" in (repo / "deploy" / "Dockerfile.backend").read_text()
