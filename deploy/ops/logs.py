"""The `logs` command: show, follow or search the logs of the local stack or of Docker Compose.

Locally, each supervisord process writes RUN_DIR/logs/NAME.log, where NAME is the service
(`api.log`) or, for a scalable service, one of its processes (`mailer-0.log`, `mailer-1.log`).
Without a filter the files are shown by `tail`, whose `==> FILE <==` headers tell the files apart.
With a filter (`--correlation ID` or `--grep TEXT`, which are the same search) the lines that
contain the text are printed as `NAME | line`, merged across files in the order of their time
stamps; with `--follow` the search then goes on over new lines until interrupted.

Under Docker Compose the same options are passed on to `docker compose logs`.
"""

from __future__ import annotations

import io
import re
import subprocess
import sys
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ops import services
from ops.console import Failure

# What an interrupted command exits with in a shell (128 + SIGINT).
INTERRUPTED = 130

# A process of a scalable service: the service's name, a dash and a number (`workflow-agent-1`).
INSTANCE = re.compile(r"(.+)-[0-9]+")

# A time stamp in ISO 8601 form, as Python's logging and JSON log lines write it.
ISO_STAMP = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[ T][0-9]{2}:[0-9]{2}:[0-9]{2}(?:[.,][0-9]+)?")
# A time stamp in the form of an access log (`10/Oct/2026:13:55:36`).
ACCESS_STAMP = re.compile(r"[0-9]{2}/[A-Z][a-z]{2}/[0-9]{4}:[0-9]{2}:[0-9]{2}:[0-9]{2}")
MONTHS = "JanFebMarAprMayJunJulAugSepOctNovDec"

# The header `tail` prints before the lines of a file when it shows several.
TAIL_HEADER = re.compile(r"==> (.*) <==")

# Fields as `sort -k` splits a line without -t: each is its leading blanks and the non-blanks after.
SORT_FIELD = r"[ \t]*[^ \t]*"
THIRD_FIELD = re.compile(rf"(?:{SORT_FIELD}){{2}}({SORT_FIELD})")


@dataclass
class LogOptions:
    service: str | None = None
    follow: bool | None = None  # None: follow when stdout is a terminal and there is no filter
    filter: str | None = None  # the text of --correlation ID or --grep TEXT (one and the same search)


def following(options: LogOptions) -> bool:
    """Whether to follow the logs: as asked, else only on a terminal and when not searching."""
    if options.follow is not None:
        return options.follow
    return sys.stdout.isatty() and not options.filter


def process_name(file: Path | str) -> str:
    """The process a log file belongs to: its file name without `.log`."""
    name = Path(file).name
    return name[: -len(".log")] if name.endswith(".log") and name != ".log" else name


def log_files(log_dir: Path, service: str | None) -> list[Path]:
    """The log files in `log_dir`, sorted by name: all of them without a service; else the files of
    the service's processes (NAME.log, or NAME-<n>.log when the service is scalable or Kafka's other
    nodes); or, given one
    process of a scalable service (`mailer-1`), that process's file."""
    files = []
    for file in sorted(log_dir.glob("*.log")):
        # Like a shell's `*`, leave out hidden files; and files that are dangling links.
        if file.name.startswith(".") or not file.exists():
            continue
        name = process_name(file)
        instance = INSTANCE.fullmatch(name)
        if (
            not service
            or name == service
            or (instance is not None and instance.group(1) == service and service in (*services.SCALABLE, "kafka"))
        ):
            files.append(file)
    return files


def stamp(line: str) -> str:
    """The time stamp a line carries, as `YYYY-MM-DD HH:MM:SS[.frac]` so that stamps sort as text;
    "" when it carries none. An ISO 8601 stamp is taken before an access log's, wherever each is."""
    found = ISO_STAMP.search(line)
    if found:
        return found.group().replace("T", " ", 1).replace(",", ".", 1)
    found = ACCESS_STAMP.search(line)
    if found:
        text = found.group()
        month = (MONTHS.find(text[3:6]) + 3) // 3  # 0 for a name that is not a month
        return f"{text[7:11]}-{month:02d}-{text[0:2]} {text[12:20]}"
    return ""


def read_lines(file: Path) -> Iterator[str]:
    """The lines of a file, without their line feed (bytes that are not UTF-8 shown as U+FFFD)."""
    with file.open(encoding="utf-8", errors="replace", newline="\n") as lines:
        for line in lines:
            yield line.removesuffix("\n")


def matching_lines(files: list[Path], text: str) -> list[str]:
    """The lines of `files` that contain `text`, each as `NAME | line`, in the order of their time
    stamps. A line without a stamp (a traceback's, say) takes the stamp of the last line before it
    in its file that has one, and comes first when none has; lines with equal stamps keep the order
    of the files and of the lines in each."""
    found: list[tuple[str, str]] = []
    for file in files:
        name = process_name(file)
        key = ""
        for line in read_lines(file):
            key = stamp(line) or key
            if text in line:
                found.append((key, f"{name} | {line}"))
    found.sort(key=lambda match: match[0])  # sort() is stable
    return [line for _, line in found]


def stream_matches(lines: Iterable[str], text: str, name: str) -> Iterator[str]:
    """The lines of `tail -F`'s output that contain `text`, each as `NAME | line`. `name` is the
    process of the first file, whose lines come first and without a header when `tail` follows a
    single file; each `==> FILE <==` header then names the process of the lines that follow it."""
    for line in lines:
        line = line.removesuffix("\n")
        header = TAIL_HEADER.fullmatch(line)
        if header:
            name = process_name(header.group(1))
        elif text in line:
            yield f"{name} | {line}"


def sort_field(line: str) -> str:
    """The third field of a line as `sort -k3,3` compares it (with the blanks before it), "" when
    the line has fewer fields. In `docker compose logs --timestamps` output it is the time stamp."""
    field = THIRD_FIELD.match(line)  # each part of the pattern may be empty: it matches every line
    return field.group(1) if field else ""


def run(command: Sequence[str]) -> int:
    """Run `command` with this process's output, and return its exit status (130 when interrupted)."""
    sys.stdout.flush()
    try:
        return subprocess.run(list(command)).returncode
    except FileNotFoundError:
        raise Failure(f"{command[0]}: command not found", code=127) from None
    except KeyboardInterrupt:
        return INTERRUPTED


@contextmanager
def output_of(command: Sequence[str], **kwargs) -> Iterator[tuple[subprocess.Popen, io.TextIOWrapper]]:
    """Start `command` and read its output here, as lines of text ended by line feeds only (a carriage
    return stays in its line). Leaving the block early (interrupted, or stdout closed) stops the command
    rather than leave it running; either way it has ended, and has its exit status, after the block."""
    try:
        proc = subprocess.Popen(list(command), stdout=subprocess.PIPE, **kwargs)
    except FileNotFoundError:
        raise Failure(f"{command[0]}: command not found", code=127) from None
    assert proc.stdout is not None
    lines = io.TextIOWrapper(proc.stdout, encoding="utf-8", errors="replace", newline="\n")
    try:
        yield proc, lines
    except BaseException:
        proc.terminate()
        raise
    finally:
        lines.close()
        proc.wait()


def local_logs(log_dir: Path, options: LogOptions) -> int:
    """`logs` of the local stack, from the files in `log_dir`; returns the exit status."""
    service = options.service or None
    # One process of a scalable service (`mailer-1`) is accepted as it is: no such file, no logs.
    if service and not INSTANCE.fullmatch(service):
        services.known(service)
    files = log_files(log_dir, service)
    if not files:
        of = f" of {service}" if service else ""
        raise Failure(f"no logs{of} yet in {log_dir} (./deploy.sh start first)")
    follow = following(options)
    paths = [str(file) for file in files]
    if not options.filter:
        return run(["tail", "-n", "50", "-F", *paths] if follow else ["tail", "-n", "200", *paths])

    found = matching_lines(files, options.filter)
    if found:
        print("\n".join(found), flush=True)
        code = 0
    else:
        print(f"no log line contains '{options.filter}'", file=sys.stderr, flush=True)
        code = 1
    if not follow:
        return code
    # Go on with the lines written from now on; tail's complaints (a file rotated away) are not shown.
    try:
        with output_of(["tail", "-n", "0", "-F", *paths], stderr=subprocess.DEVNULL) as (tail, lines):
            for line in stream_matches(lines, options.filter, process_name(files[0])):
                print(line, flush=True)
    except KeyboardInterrupt:
        return INTERRUPTED
    return tail.returncode


def compose_logs(compose: list[str], options: LogOptions) -> int:
    """`logs` of the Docker Compose stack, through `compose` (the `docker compose ...` command with
    its options); returns the exit status. A search sorts the lines by the time stamp Compose puts
    before each; finding nothing is not an error here."""
    service = [options.service] if options.service else []
    follow = following(options)
    text = options.filter
    if not text:
        if follow:
            return run([*compose, "logs", "-f", "--tail", "50", *service])
        return run([*compose, "logs", "--tail", "200", *service])

    sys.stdout.flush()
    try:
        # The status of this first search is not looked at: it ends well whatever it finds.
        output = subprocess.run([*compose, "logs", "--no-color", "--timestamps", *service], stdout=subprocess.PIPE)
        lines = output.stdout.decode("utf-8", errors="replace").split("\n")
        if lines[-1] == "":
            lines.pop()  # what follows the last line feed
        found = sorted((line for line in lines if text in line), key=sort_field)
        if found:
            print("\n".join(found), flush=True)
        if not follow:
            return 0
        printed = False
        followed = [*compose, "logs", "-f", "--no-color", "--timestamps", "--tail", "0", *service]
        with output_of(followed) as (docker, stream):
            for line in stream:
                if text in line:
                    print(line.removesuffix("\n"), flush=True)
                    printed = True
    except FileNotFoundError:
        raise Failure(f"{compose[0]}: command not found", code=127) from None
    except KeyboardInterrupt:
        return INTERRUPTED
    # As the shell's pipeline `docker ... | grep` ended: grep's status (1: nothing found), else docker's.
    return docker.returncode if printed else 1
