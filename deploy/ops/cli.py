"""./deploy.sh's commands (click). deploy.sh checks Python, makes the virtualenv and runs `python -m ops`.

Every expected failure is a `Failure`: its message after "error: " on stderr and a non-zero exit,
without a traceback. `./deploy.sh help` prints usage.txt; `./deploy.sh COMMAND --help` each
command's own help.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import traceback
from pathlib import Path

import click

from ops import compose, logs, runs, services
from ops import settings as config
from ops.console import Failure, error, step
from ops.local import Stack
from ops.settings import REPO_DIR

USAGE = (Path(__file__).parent / "usage.txt").read_text()
CONTEXT = {"help_option_names": ["-h", "--help"]}
PASS_THROUGH = {**CONTEXT, "ignore_unknown_options": True, "allow_interspersed_args": False}


def _run_dir() -> Path:
    return Path(os.environ.get("RUN_DIR") or REPO_DIR / ".run")


def _venv_bin() -> Path:
    return Path(os.environ["VENV"]) / "bin" if os.environ.get("VENV") else Path(sys.executable).parent


def _settings() -> dict[str, str]:
    """The resolved settings, applied to this process (supervisord and the services inherit them)."""
    os.environ.setdefault("RUN_DIR", str(_run_dir()))
    os.environ["REPO_DIR"] = str(REPO_DIR)
    os.environ["VENV_BIN"] = str(_venv_bin())
    resolved = config.resolve()
    config.apply(resolved)
    return resolved


def _stack(resolved: dict[str, str]) -> Stack:
    return Stack(resolved, _run_dir(), _venv_bin(), float(os.environ.get("HEALTH_TIMEOUT") or 90))


def _run_verb(
    verb: str,
    on_local,
    args: list[str] | None = None,
    log_options: logs.LogOptions | None = None,
    force_local: bool = False,
):
    """Resolve the settings, then run the verb: in Compose when a Docker engine answers (unless
    `force_local`), else `on_local(stack)` on the local stack. Exits with the verb's code (None: 0)."""
    resolved = _settings()
    if not force_local and compose.available():
        sys.exit(compose.run(verb, args or [], resolved, log_options))
    sys.exit(on_local(_stack(resolved)) or 0)


@click.group(context_settings=CONTEXT, add_help_option=True, invoke_without_command=True)
@click.pass_context
def cli(ctx: click.Context) -> None:
    """The intake pipeline's command line (./deploy.sh help lists the commands)."""
    if ctx.invoked_subcommand is None:
        click.echo(USAGE, nl=False)


@cli.command("help")
def help_() -> None:
    """This list of commands."""
    click.echo(USAGE, nl=False)


@cli.command()
def start() -> None:
    """Install what is missing, start every service, wait until healthy, print the URLs."""
    _run_verb("start", Stack.start)


@cli.command()
def dev() -> None:
    """The same stack for development, in local processes: every Python service restarted when a
    .py file under backend/ or bridge/ changes (watchfiles), the frontend served by Vite's dev server
    with hot module replacement. The infrastructure runs as in start; stop stops it."""
    _run_verb("dev", lambda stack: stack.start(dev=True), force_local=True)


@cli.command()
def stop() -> None:
    """Stop every service."""
    _run_verb("stop", Stack.stop)


@cli.command()
def restart() -> None:
    """Stop, then start."""
    _run_verb("restart", Stack.restart)


@cli.command()
def status() -> None:
    """Each service's process state (RUNNING(2): two processes) and health check, and the bridge's
    consumer lag per partition. Exit 0 only if all are healthy (3: not running)."""
    _run_verb("status", Stack.status)


@cli.command("logs")
@click.argument("service", required=False)
@click.option(
    "-f", "--follow/--no-follow", default=None, help="Follow new lines (default: on a terminal, without a search)."
)
@click.option(
    "--correlation",
    "correlation",
    metavar="ID",
    help="Only the lines that contain ID, from every service, in time order.",
)
@click.option("--grep", "grep", metavar="TEXT", help="The same for any text.")
def logs_(service: str | None, follow: bool | None, correlation: str | None, grep: str | None) -> None:
    """Recent log lines of all services or one (mailer: each of its processes; mailer-1: one of them).
    A search prints each line after its process's name and exits 1 when nothing matches."""
    if correlation is not None and grep is not None:
        raise Failure("usage: ./deploy.sh logs [SERVICE] [--follow] [--correlation ID | --grep TEXT]")
    text = correlation if correlation is not None else grep
    if text == "":
        raise Failure(
            f"usage: ./deploy.sh logs [SERVICE] {'--correlation' if correlation is not None else '--grep'} TEXT"
        )
    options = logs.LogOptions(service=service, follow=follow, filter=text)
    _run_verb("logs", lambda stack: logs.local_logs(stack.log_dir, options), log_options=options)


@cli.command(context_settings=CONTEXT)
@click.argument("service", required=False)
@click.argument("count", required=False)
def scale(service: str | None, count: str | None) -> None:
    """Run COUNT processes of SERVICE (api, stream, mailer, workflow-agent, relay, bridge; at most 8
    each), starting or stopping only the difference, and wait until they answer; kept for the next start."""
    if not service or not (count or "").isdigit():
        raise Failure(f"usage: ./deploy.sh scale SERVICE N (SERVICE: {' '.join(services.SCALABLE)})")
    _run_verb("scale", lambda stack: stack.scale(service, int(count)), [service, count])


@cli.command("restart-service")
@click.argument("name", required=False)
def restart_service(name: str | None) -> None:
    """Restart one service (every process of a scaled one) and wait until it is healthy."""
    _run_verb("restart-service", lambda stack: stack.restart_service(name), [name] if name else [])


@cli.command("stop-service")
@click.argument("name", required=False)
def stop_service(name: str | None) -> None:
    """Stop one service (restart-service starts it again)."""
    _run_verb("stop-service", lambda stack: stack.stop_service(name), [name] if name else [])


@cli.command()
def build() -> None:
    """Install dependencies and build the frontend, without starting anything."""
    _run_verb("build", Stack.build)


@cli.command()
def cleanup() -> None:
    """Stop, then delete run state, logs, the database, Kafka's log and build output."""
    _run_verb("cleanup", Stack.cleanup)


@cli.command(context_settings=PASS_THROUGH)
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def kafka(args: tuple[str, ...]) -> None:
    """A Kafka command-line tool against the configured broker, e.g.
    `./deploy.sh kafka topics --describe --topic events.contact_form`."""
    _run_verb("kafka", lambda stack: stack.kafka(list(args)), list(args))


@cli.command("test", context_settings=PASS_THROUGH)
@click.argument("pytest_args", nargs=-1, type=click.UNPROCESSED)
def test_(pytest_args: tuple[str, ...]) -> None:
    """Install the test dependencies and run every test: lint, vitest, then pytest (PYTEST_ARGS passed on)."""
    sys.exit(runs.run_tests(list(pytest_args)))


@cli.command(context_settings=PASS_THROUGH)
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def chaos(args: tuple[str, ...]) -> None:
    """The fault suite at N submissions per case (default 300), one line per case: chaos [N] [CASE...].
    chaos --cluster [N] [CASE...]: its cluster cases (default 100 each) on PostgreSQL, three brokers
    and two of every stateless service."""
    cases = list(args)
    cluster = bool(cases) and cases[0] == "--cluster"
    if cluster:
        cases.pop(0)
    count = 100 if cluster else 300
    if cases and cases[0].isdigit():
        count = int(cases.pop(0))
    if any(case.startswith("-") for case in cases):
        raise Failure("usage: ./deploy.sh chaos [--cluster] [N] [CASE...]")
    sys.exit(runs.run_chaos(count, cases, cluster=cluster))


@cli.command(context_settings=CONTEXT)
@click.option("--smoke", is_flag=True, help="A minute: that it works.")
@click.option("--no-viewers", is_flag=True, help="Skip the live-viewer phase.")
@click.option("--postgresql", is_flag=True, help="On a throwaway PostgreSQL cluster instead of SQLite.")
@click.option(
    "--compare", is_flag=True, help="Only 20/s, 100/s and a 1,000 burst, each on the pipeline then the baseline."
)
def bench(smoke: bool, no_viewers: bool, postgresql: bool, compare: bool) -> None:
    """The benchmark: the stack as `start` runs it (every default, LOG_LEVEL included; the rate limit
    lifted) on its own ports and data, driven from a separate process; prints a table and writes
    bench-results/DATABASE/bench.json and bench.png (about 20 min; --compare about 5)."""
    data, out = runs.bench_environment(postgresql)
    keep = bool(os.environ.get("BENCH_KEEP_DATA"))
    stack = _stack(_settings())
    if stack.supervisor.running():
        stack.stop()
    shutil.rmtree(data, ignore_errors=True)
    shutil.rmtree(stack.run_dir, ignore_errors=True)
    data.mkdir(parents=True)
    postgres = runs.ThrowawayPostgres(int(os.environ.get("BENCH_PG_PORT") or 5532)) if postgresql else None
    if postgres:
        os.environ["DATABASE_URL"] = postgres.start()
        stack = _stack(_settings())
    code = 1
    try:
        step(f"starting the stack for the benchmark (run directory {stack.run_dir}, data {data})")
        stack.start()
        flags = [flag for flag, on in (("--smoke", smoke), ("--no-viewers", no_viewers), ("--compare", compare)) if on]
        where = "PostgreSQL" if postgresql else "SQLite"
        step(
            f"benchmark{' (' + ' '.join(flags) + ')' if flags else ''} on {where}: load from a separate process on loopback"
        )
        code = subprocess.run(
            [runs.VENV_BIN / "python", "-m", "tests.benchmarks.bench", "--out", out, *flags], cwd=REPO_DIR
        ).returncode
    finally:
        stack.stop()
        if postgres:
            postgres.stop(keep)
        if not keep:
            shutil.rmtree(data, ignore_errors=True)
    sys.exit(code)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and not argv[0].startswith("-") and argv[0] not in cli.commands:
        sys.stderr.write(USAGE)
        error(f"unknown command '{argv[0]}'")
        return 1
    try:
        cli.main(argv, prog_name="./deploy.sh", standalone_mode=False)
    except Failure as failure:
        for line in failure.details:
            print(line, file=sys.stderr)
        error(failure.message)
        return failure.code
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except (click.exceptions.Abort, KeyboardInterrupt):
        return 130
    except SystemExit as exit_:
        return exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
    except Exception:  # a bug or an unforeseen state: the traceback is what to report
        traceback.print_exc()
        error(f"./deploy.sh {' '.join(argv)} stopped on an unexpected error (the traceback above says where)")
        return 1
    return 0
