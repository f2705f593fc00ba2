"""What the CLI prints: a line per step on stdout, progress and errors on stderr, and one exception,
`Failure`, for every expected failure (a taken port, a missing tool): the CLI prints its message and
exits non-zero, without a traceback."""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path


class Failure(Exception):
    """An expected failure: `message` is what the user reads (after "error: "), `code` the exit status."""

    def __init__(self, message: str, code: int = 1, details: Sequence[str] = ()):
        super().__init__(message)
        self.message = message
        self.code = code
        self.details = list(details)  # lines printed before the message (e.g. each missing tool)


def step(message: str) -> None:
    """A step of the command, on stdout: `==> message`."""
    print(f"==> {message}", flush=True)


def note(message: str) -> None:
    """A progress line of a long step, on stderr (stdout keeps one line per step)."""
    print(f"    {message}", file=sys.stderr, flush=True)


def error(message: str) -> None:
    print(f"error: {message}", file=sys.stderr, flush=True)


def quiet(what: str, command: Sequence[str | Path], **kwargs) -> None:
    """Run `command` with its output kept aside; on failure show its last 40 lines and fail."""
    result = subprocess.run([str(part) for part in command], capture_output=True, text=True, **kwargs)
    if result.returncode != 0:
        tail = (result.stdout + result.stderr).splitlines()[-40:]
        raise Failure(f"{what} failed", details=tail)


def progress(what: str, command: Sequence[str | Path], lines: Callable[[str, float], str | None], **kwargs) -> None:
    """Run `command`; `lines(output_line, seconds)` turns each line it prints into a progress line
    (or None). On failure show the output's last 40 lines and fail."""
    start = time.monotonic()
    kept: list[str] = []
    with subprocess.Popen(
        [str(part) for part in command], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **kwargs
    ) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            kept.append(line.rstrip("\n"))
            del kept[:-40]
            shown = lines(line.rstrip("\n"), time.monotonic() - start)
            if shown:
                note(f"[{time.monotonic() - start:3.0f}s] {shown}")
    if proc.returncode != 0:
        raise Failure(f"{what} failed", details=kept)


def ticking(
    what: str, command: Sequence[str | Path], tick: Callable[[float], str], every: float = 5.0, **kwargs
) -> str:
    """Run `command` quietly, printing `tick(seconds)` every `every` seconds while it runs; return its
    output. On failure show the output's last 40 lines and fail."""
    with tempfile.TemporaryFile("w+") as out:
        proc = subprocess.Popen(
            [str(part) for part in command], stdout=out, stderr=subprocess.STDOUT, text=True, **kwargs
        )
        start = time.monotonic()
        while True:
            try:
                proc.wait(timeout=every)
                break
            except subprocess.TimeoutExpired:
                note(f"[{time.monotonic() - start:3.0f}s] {tick(time.monotonic() - start)}")
        out.seek(0)
        output = out.read()
    if proc.returncode != 0:
        raise Failure(f"{what} failed", details=output.splitlines()[-40:])
    return output


def table(rows: Iterable[Sequence[str]], widths: Sequence[int]) -> str:
    """Rows as fixed-width columns (the last column as it is)."""
    return "\n".join(
        " ".join(f"{cell:<{width}}" for cell, width in zip(row[:-1], widths, strict=False)) + " " + row[-1]
        for row in rows
    )
