"""Every verb of the operations CLI (./deploy.sh → `python -m ops`), with supervisord, the health
checks and the installers faked: what each verb starts, stops, prints and exits with."""

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from ops import cli, install, local, runs
from ops import settings as config
from ops.console import Failure
from ops.services import APPS, INFRA, SCALABLE

from tests.servers import REPO, free_port


class FakeSupervisor:
    """supervisord's XML-RPC interface, as far as the CLI uses it, in memory."""

    def __init__(self, run_dir, conf, venv_bin):
        self.run_dir, self.pid_file = run_dir, run_dir / "supervisord.pid"
        self.up = FakeSupervisor.up_at_start
        self.process_states: dict[str, str] = dict(FakeSupervisor.initial_states)
        FakeSupervisor.instances.append(self)
        self.calls: list[tuple] = []

    up_at_start = False
    initial_states: dict[str, str] = {}
    instances: list["FakeSupervisor"] = []

    def running(self):
        return self.up

    def stale_pid(self):
        return int(self.pid_file.read_text()) if self.pid_file.exists() else None

    def launch(self):
        self.calls.append(("launch",))
        self.up = True

    def states(self):
        return dict(self.process_states)

    def start(self, names):
        names = list(names)
        self.calls.append(("start", names))
        self.process_states.update(dict.fromkeys(names, "RUNNING"))

    def stop(self, names):
        names = list(names)
        self.calls.append(("stop", names))
        self.process_states.update(dict.fromkeys(names, "STOPPED"))

    def shutdown(self):
        self.calls.append(("shutdown",))
        self.up = False


@pytest.fixture
def ops_env(tmp_path, monkeypatch):
    """A settings file, a run directory and free ports of their own; supervisord, the health checks,
    the installers and the commands the start runs (migrate, topics) faked and recorded."""
    for name in list(os.environ):
        if name.startswith(
            ("API_", "KAFKA_", "REDIS_", "SMTP_", "CRM_", "FLOWER_", "FRONTEND_", "STREAM_", "PROMETHEUS_", "METRICS_")
        ):
            monkeypatch.delenv(name)
    env_file = tmp_path / "settings.env"
    secrets = "".join(f"{name}={make()}\n" for name, make, _ in config.SECRETS)  # as a first start leaves it
    env_file.write_text(f"SITE_NAME=From the file\n{secrets}")
    env_file.chmod(0o600)
    monkeypatch.setenv("ENV_FILE", str(env_file))
    monkeypatch.setenv("RUN_DIR", str(tmp_path / "run"))
    monkeypatch.setenv("DEPLOY_MODE", "local")
    monkeypatch.setenv("KAFKA_DATA_DIR", str(tmp_path / "kafka"))
    # Every port the start checks, free: a stack running on this machine's defaults stays out of it.
    ports = ("API_PORT", "STREAM_PORT", "REDIS_PORT", "SMTP_PORT", "MAILDEV_WEB_PORT", "CRM_PORT", "FLOWER_PORT")
    for var in (*ports, "PROMETHEUS_PORT"):
        monkeypatch.setenv(var, str(free_port()))
    monkeypatch.setenv("FRONTEND_PORT", str(free_port()))
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", f"127.0.0.1:{free_port()}")
    monkeypatch.setenv("KAFKA_CONTROLLER_PORT", str(free_port()))
    monkeypatch.setattr(local, "REPO_DIR", tmp_path / "repo")  # what cleanup removes, and where data/ is made
    FakeSupervisor.up_at_start, FakeSupervisor.initial_states, FakeSupervisor.instances = False, {}, []
    monkeypatch.setattr(local, "Supervisor", FakeSupervisor)
    recorded: list[tuple] = []
    monkeypatch.setattr(local, "quiet", lambda what, command, **_: recorded.append(("quiet", what)))
    monkeypatch.setattr(local.Stack, "wait_healthy", lambda self, checks: recorded.append(("healthy", list(checks))))
    for name in ("check_tools", "install_all", "ensure_kafka", "ensure_npm", "build_frontend", "ensure_apt"):
        monkeypatch.setattr(
            install, name, lambda *args, _name=name, **kw: recorded.append((_name, *args, *sorted(kw.items())))
        )
    monkeypatch.setattr(config, "write_service_env", config.write_service_env)
    return {"tmp": tmp_path, "env_file": env_file, "run_dir": tmp_path / "run", "recorded": recorded}


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def supervisor() -> FakeSupervisor:
    return FakeSupervisor.instances[-1]


def healthy(monkeypatch, down: tuple[str, ...] = (), lag_code: int = 0):
    """deploy/health.py's answers: every check ok except `down`; the lag table and its exit code."""

    def health(self, *args):
        if args == ("--lag",):
            return subprocess.CompletedProcess(args, lag_code, "PARTITION COMMITTED END LAG\ntotal 3 0\n", "")
        lines = [f"{a.split(':')[0]} {'down (refused)' if a.split(':')[0] in down else 'ok'}" for a in args]
        return subprocess.CompletedProcess(args, 1 if down else 0, "\n".join(lines) + "\n", "")

    monkeypatch.setattr(local.Stack, "health", health)


# --- help and mistakes ---------------------------------------------------------------------------


def test_help_lists_every_command_and_each_has_its_own_help(capsys):
    code, out, _ = run(capsys, "help")
    assert code == 0
    for command in cli.cli.commands:
        assert f"\n  {command}" in out, command
    assert "Node.js 20.19+" in out


@pytest.mark.parametrize("command", sorted(set(cli.cli.commands) - {"help"}))
def test_each_command_s_help_says_what_it_does(capsys, command):
    code = cli.main([command, "--help"])
    out = capsys.readouterr().out
    assert code == 0
    assert out.startswith(f"Usage: ./deploy.sh {command}")
    assert cli.cli.commands[command].help.split("\n")[0][:30] in " ".join(out.split())


def test_an_unknown_command_prints_the_usage_and_fails(capsys):
    code, out, err = run(capsys, "frobnicate")
    assert code == 1 and out == ""
    assert err.startswith("Usage: ./deploy.sh COMMAND") and "error: unknown command 'frobnicate'" in err


def test_an_expected_failure_is_one_line_without_a_traceback(capsys, ops_env):
    code, _, err = run(capsys, "restart-service", "nosuch")
    assert code == 1
    assert err.strip() == f"error: unknown service 'nosuch' (one of: {' '.join(INFRA + APPS)})"
    assert "Traceback" not in err


# --- start, stop, restart, status ----------------------------------------------------------------


def test_start_installs_then_starts_the_infrastructure_the_database_and_the_apps_in_order(capsys, ops_env):
    (ops_env["run_dir"] / "scale").mkdir(parents=True)
    (ops_env["run_dir"] / "scale" / "mailer").write_text("2\n")
    code, out, _ = run(capsys, "start")
    assert code == 0, out
    recorded = ops_env["recorded"]
    assert recorded[:2] == [("check_tools",), ("install_all", ("build", True))]
    assert ("quiet", "migrate") in recorded and ("quiet", "topic creation") in recorded
    assert recorded.index(("healthy", ["kafka-broker", "redis", "smtp", "prometheus"])) < recorded.index(
        ("quiet", "migrate")
    )
    calls = supervisor().calls
    assert calls[0] == ("launch",)
    assert calls[1] == ("start", ["infra:kafka", "infra:redis", "infra:smtp", "infra:prometheus"])
    config = json.loads((ops_env["run_dir"] / "prometheus" / "prometheus.yml").read_text())
    assert config["rule_files"] == [str(REPO / "deploy" / "prometheus" / "alerts.yml")]
    mailer = json.loads((ops_env["run_dir"] / "prometheus" / "targets-mailer.json").read_text())
    assert mailer == [{"targets": ["127.0.0.1:9103", "127.0.0.1:9203"], "labels": {}}]  # both replicas
    apps = calls[2][1]
    assert apps[:2] == ["app:crm", "app:api-0"] and "app:mailer-0" in apps and "app:mailer-1" in apps
    assert "app:mailer-2" not in apps
    assert recorded[-1][0] == "healthy" and "mailer:2" in recorded[-1][1]
    assert "==> starting crm api stream mailer (2 processes)" in out
    assert "==> all services healthy" in out
    assert f"http://localhost:{os.environ['FRONTEND_PORT']}" in out
    service_env = ops_env["run_dir"] / "service.env"
    assert stat.S_IMODE(service_env.stat().st_mode) == 0o600
    assert "export SITE_NAME='From the file'" in service_env.read_text()


def test_dev_starts_the_same_stack_with_reloading_services_and_keeps_that_mode(capsys, ops_env, monkeypatch):
    monkeypatch.setenv("DEPLOY_MODE", "compose")  # dev is always local processes
    code, out, _ = run(capsys, "dev")
    assert code == 0, out
    assert ("install_all", ("build", False)) in ops_env["recorded"]  # the frontend's packages, not its build
    service_env = (ops_env["run_dir"] / "service.env").read_text()
    assert "export DEV_RELOAD=1" in service_env
    assert (ops_env["run_dir"] / "mode").read_text().strip() == "dev"
    assert "==> development mode:" in out
    monkeypatch.setenv("DEPLOY_MODE", "local")
    FakeSupervisor.up_at_start = True
    assert run(capsys, "restart-service", "api")[0] == 0  # a restarted service keeps reloading
    assert "export DEV_RELOAD=1" in (ops_env["run_dir"] / "service.env").read_text()
    FakeSupervisor.up_at_start = False
    assert run(capsys, "start")[0] == 0
    assert "export DEV_RELOAD=0" in (ops_env["run_dir"] / "service.env").read_text()


def test_start_when_running_says_so_and_starts_nothing(capsys, ops_env):
    FakeSupervisor.up_at_start = True
    code, out, _ = run(capsys, "start")
    assert code == 0 and "already running" in out
    assert supervisor().calls == [] and ops_env["recorded"] == []


def test_start_forgets_a_stale_pid_file(capsys, ops_env):
    ops_env["run_dir"].mkdir()
    (ops_env["run_dir"] / "supervisord.pid").write_text("999999\n")
    code, out, _ = run(capsys, "start")
    assert code == 0
    assert "ignoring a stale" in out and "(pid 999999 is not this stack's supervisord)" in out


def test_a_taken_port_stops_start_before_anything_is_installed_or_started(capsys, ops_env):
    import socket

    with socket.create_server(("127.0.0.1", int(os.environ["API_PORT"]))):
        code, _, err = run(capsys, "start")
    assert code == 1
    assert f"port {os.environ['API_PORT']} (api, API_PORT) is already in use" in err
    assert "error: free those ports or change them in .env; nothing was started" in err
    assert supervisor().calls == [] and [r[0] for r in ops_env["recorded"]] == ["check_tools"]


def test_stop_shuts_supervisord_down_and_says_when_nothing_runs(capsys, ops_env):
    assert run(capsys, "stop")[1] == "not running\n"
    FakeSupervisor.up_at_start = True
    code, out, _ = run(capsys, "stop")
    assert code == 0 and supervisor().calls == [("shutdown",)]
    assert out.splitlines() == ["==> stopping every service", "==> stopped"]


def test_restart_stops_then_starts(capsys, ops_env):
    FakeSupervisor.up_at_start = True
    code, out, _ = run(capsys, "restart")
    assert code == 0
    assert [call[0] for call in supervisor().calls][:3] == ["shutdown", "launch", "start"]
    assert "==> stopped" in out and "==> all services healthy" in out


def test_status_shows_each_service_and_exits_by_their_health(capsys, ops_env, monkeypatch):
    assert run(capsys, "status")[:2] == (3, "not running\n")
    FakeSupervisor.up_at_start = True
    FakeSupervisor.initial_states = {
        **{f"infra:{name}": "RUNNING" for name in INFRA},
        **{f"app:{name}": "RUNNING" for name in APPS},
        **{f"app:{name}-0": "RUNNING" for name in SCALABLE},
    }
    (ops_env["run_dir"] / "scale").mkdir(parents=True)
    (ops_env["run_dir"] / "scale" / "bridge").write_text("2")
    healthy(monkeypatch)
    code, out, _ = run(capsys, "status")
    rows = {line.split()[0]: line.split()[1:] for line in out.splitlines()[1 : 1 + len(INFRA + APPS)]}
    assert out.splitlines()[0].split() == ["SERVICE", "PROCESS", "HEALTH"]
    assert rows["mailer"] == ["RUNNING", "ok"] and rows["kafka"] == ["RUNNING", "ok"]
    assert rows["bridge"] == ["RUNNING(1/2)", "ok"]  # one of its two processes is not running
    assert "PARTITION COMMITTED END LAG" in out
    assert code == 1
    supervisor().process_states["app:bridge-1"] = "RUNNING"
    FakeSupervisor.initial_states["app:bridge-1"] = "RUNNING"
    assert run(capsys, "status")[0] == 0
    healthy(monkeypatch, down=("crm",))
    code, out, _ = run(capsys, "status")
    assert code == 1 and "crm             RUNNING    down (refused)" in out
    healthy(monkeypatch, lag_code=1)
    assert run(capsys, "status")[0] == 1  # the lag could not be read


# --- one service ---------------------------------------------------------------------------------


def test_restart_service_restarts_every_process_of_a_service_and_waits_for_it(capsys, ops_env):
    assert run(capsys, "restart-service")[2].strip() == "error: usage: ./deploy.sh restart-service NAME"
    assert "error: not running (./deploy.sh start)" in run(capsys, "restart-service", "api")[2]
    FakeSupervisor.up_at_start = True
    (ops_env["run_dir"] / "scale").mkdir(parents=True)
    (ops_env["run_dir"] / "scale" / "workflow-agent").write_text("2")
    code, out, _ = run(capsys, "restart-service", "workflow-agent")
    assert code == 0
    processes = ["app:workflow-agent-0", "app:workflow-agent-1"]
    # One at a time, the service healthy (both processes) before the next goes.
    assert supervisor().calls == [
        ("stop", processes[:1]),
        ("start", processes[:1]),
        ("stop", processes[1:]),
        ("start", processes[1:]),
    ]
    assert "==> restarting workflow-agent (2 processes, one at a time)" in out and "==> workflow-agent healthy" in out
    assert ops_env["recorded"][-2:] == [("healthy", ["workflow-agent:2"])] * 2
    assert (ops_env["run_dir"] / "service.env").is_file()  # an edited .env applies to the restarted one


def test_stop_service_stops_every_declared_process_of_a_scaled_one(capsys, ops_env):
    FakeSupervisor.up_at_start = True
    assert run(capsys, "stop-service", "redis")[0] == 0
    assert supervisor().calls == [("stop", ["infra:redis"])]
    assert run(capsys, "stop-service", "mailer")[0] == 0
    assert supervisor().calls == [("stop", [f"app:mailer-{i}" for i in range(8)])]


def test_scale_starts_and_stops_only_the_difference_and_remembers_it(capsys, ops_env):
    assert "usage: ./deploy.sh scale SERVICE N" in run(capsys, "scale", "mailer")[2]
    refused = run(capsys, "scale", "reconciler", "2")[2]
    assert "'reconciler' cannot be scaled (these can: api stream mailer workflow-agent relay bridge)" in refused
    assert "scale to 1 or more" in run(capsys, "scale", "mailer", "0")[2]
    assert "mailer runs at most 8 processes here" in run(capsys, "scale", "mailer", "9")[2]
    code, out, _ = run(capsys, "scale", "mailer", "3")
    assert code == 0 and "==> mailer: 3 process(es) from the next start" in out
    assert (ops_env["run_dir"] / "scale" / "mailer").read_text().strip() == "3"
    FakeSupervisor.up_at_start = True
    FakeSupervisor.initial_states = {"app:mailer-0": "RUNNING", "app:mailer-1": "RUNNING", "app:mailer-2": "BACKOFF"}
    code, out, _ = run(capsys, "scale", "mailer", "1")
    assert code == 0
    assert supervisor().calls == [("stop", ["app:mailer-1", "app:mailer-2"])]
    assert ops_env["recorded"][-1] == ("healthy", ["mailer:1"]) and "==> mailer: 1 process(es) running" in out
    FakeSupervisor.initial_states = {"app:mailer-0": "RUNNING"}
    assert run(capsys, "scale", "mailer", "2")[0] == 0
    assert supervisor().calls == [("start", ["app:mailer-1"])]
    targets = json.loads((ops_env["run_dir"] / "prometheus" / "targets-mailer.json").read_text())
    assert targets[0]["targets"] == ["127.0.0.1:9103", "127.0.0.1:9203"]  # Prometheus follows the scale


def test_scaled_api_and_stream_share_their_port_and_relays_each_have_theirs(capsys, ops_env):
    FakeSupervisor.up_at_start = True
    FakeSupervisor.initial_states = {"app:api-0": "RUNNING", "app:relay-0": "RUNNING", "app:stream-0": "RUNNING"}
    for service in ("api", "relay", "stream"):
        code, out, err = run(capsys, "scale", service, "2")
        assert code == 0, err
        assert supervisor().calls == [("start", [f"app:{service}-1"])]
        assert ops_env["recorded"][-1] == ("healthy", [f"{service}:2"])  # two processes must answer
    folder = ops_env["run_dir"] / "prometheus"
    api = json.loads((folder / "targets-api.json").read_text())[0]["targets"]
    relay = json.loads((folder / "targets-relay.json").read_text())[0]["targets"]
    assert api == [f"127.0.0.1:{os.environ['API_PORT']}"]  # one port: any replica reports all
    assert relay == ["127.0.0.1:9101", "127.0.0.1:9201"]


# --- logs, build, cleanup, kafka -----------------------------------------------------------------


def test_logs_search_every_service_s_log_of_the_run_directory(capsys, ops_env):
    logs = ops_env["run_dir"] / "logs"
    logs.mkdir(parents=True)
    (logs / "api.log").write_text("2026-12-04 10:00:02 api saw corr-1\n")
    (logs / "relay.log").write_text('{"time": "2026-12-04T10:00:01", "message": "corr-1 published"}\n')
    code, out, _ = run(capsys, "logs", "--correlation", "corr-1")
    assert code == 0
    assert [line.split(" | ")[0] for line in out.splitlines()] == ["relay", "api"]
    assert run(capsys, "logs", "--grep", "absent")[0] == 1
    assert "usage: ./deploy.sh logs [SERVICE] --grep TEXT" in run(capsys, "logs", "--grep", "")[2]


def test_build_installs_everything_and_starts_nothing(capsys, ops_env):
    code, out, _ = run(capsys, "build")
    assert code == 0 and out.strip().endswith("==> built")
    assert [r[0] for r in ops_env["recorded"]] == ["check_tools", "install_all"]
    assert FakeSupervisor.instances[-1].calls == []


def test_cleanup_stops_and_removes_the_run_state_the_data_and_the_build(capsys, ops_env):
    repo = ops_env["tmp"] / "repo"
    for folder in (ops_env["run_dir"] / "logs", repo / "data", ops_env["tmp"] / "kafka", repo / "frontend" / "dist"):
        folder.mkdir(parents=True)
        (folder / "file").write_text("x")
    FakeSupervisor.up_at_start = True
    code, out, _ = run(capsys, "cleanup")
    assert code == 0 and supervisor().calls == [("shutdown",)]
    assert not ops_env["run_dir"].exists() and not (repo / "data").exists()
    assert not (ops_env["tmp"] / "kafka").exists() and not (repo / "frontend" / "dist").exists()
    assert "removing run state, logs, the SQLite database" in out


def test_kafka_runs_the_named_tool_from_the_broker_s_jars(capsys, ops_env, monkeypatch):
    ran = []
    real_run = subprocess.run

    def fake_run(command, *args, **kwargs):
        if "tool" in map(str, command):
            ran.append([str(part) for part in command])
            return subprocess.CompletedProcess(command, 4)
        return real_run(command, *args, **kwargs)

    monkeypatch.setattr(local.subprocess, "run", fake_run)
    code, out, err = run(capsys, "kafka")
    assert code == 1 and "  topics" in out and "usage: ./deploy.sh kafka TOOL [ARGS...] (tools above)" in err
    code, _, _ = run(capsys, "kafka", "topics", "--describe", "--topic", "x")
    assert code == 4  # the tool's own exit code
    assert ran[0][-5:] == ["tool", "topics", "--describe", "--topic", "x"]
    assert ("ensure_kafka",) in ops_env["recorded"]


# --- test, chaos, bench --------------------------------------------------------------------------


def test_test_runs_lint_vitest_and_pytest_and_fails_when_pytest_collects_nothing(capsys, monkeypatch):
    ran = []
    for name in ("check_tools", "ensure_apt", "ensure_kafka", "ensure_npm", "build_frontend"):
        monkeypatch.setattr(install, name, lambda *args: None)
    monkeypatch.setattr(runs, "lint", lambda: True)

    def fake_run(command, *args, **kwargs):
        ran.append([str(part) for part in command])
        return subprocess.CompletedProcess(command, 5 if "pytest" in ran[-1] else 0)

    monkeypatch.setattr(runs.subprocess, "run", fake_run)
    code, out, err = run(capsys, "test", "-k", "nothing", "-x")
    assert code == 1 and "error: pytest collected no tests" in err
    assert ran[0] == ["npm", "test", "--silent"]
    assert ran[1][-4:] == ["pytest", "-k", "nothing", "-x"]
    assert "==> lint (ruff check, ruff format --check, import rules, shellcheck)" in out
    monkeypatch.setattr(runs, "lint", lambda: False)
    monkeypatch.setattr(runs.subprocess, "run", lambda command, *a, **k: subprocess.CompletedProcess(command, 0))
    assert run(capsys, "test")[0] == 1  # lint failed, the tests passed


def test_the_repository_s_shell_scripts_are_found_by_name_and_first_line():
    scripts = runs.shell_scripts()
    assert "deploy.sh" in scripts and "deploy/with-env.sh" in scripts and ".ci/run" in scripts
    assert not any(name.endswith(".py") for name in scripts)


def test_chaos_passes_the_count_and_the_cases_to_the_fault_suite(capsys, monkeypatch):
    calls = []
    monkeypatch.setattr(
        runs, "run_chaos", lambda count, cases, cluster=False: calls.append((count, cases, cluster)) or 0
    )
    assert run(capsys, "chaos")[0] == 0
    assert run(capsys, "chaos", "50", "broker-kill", "crm-down-60s")[0] == 0
    assert run(capsys, "chaos", "--cluster")[0] == 0
    assert run(capsys, "chaos", "--cluster", "20", "leader-sigkill")[0] == 0
    assert calls == [
        (300, [], False),
        (50, ["broker-kill", "crm-down-60s"], False),
        (100, [], True),
        (20, ["leader-sigkill"], True),
    ]
    assert "usage: ./deploy.sh chaos [--cluster] [N] [CASE...]" in run(capsys, "chaos", "--fast")[2]
    assert "usage: ./deploy.sh chaos [--cluster] [N] [CASE...]" in run(capsys, "chaos", "10", "--cluster")[2]


def test_bench_runs_on_its_own_ports_and_data_and_removes_them_after(capsys, ops_env, monkeypatch, tmp_path):
    data = tmp_path / "bench-data"
    monkeypatch.setenv("BENCH_DATA_DIR", str(data))
    monkeypatch.setenv("BENCH_RUN_DIR", str(tmp_path / "bench-run"))
    monkeypatch.delenv("API_PORT")
    seen = {}

    def fake_run(command, *args, **kwargs):
        seen.update(command=[str(part) for part in command], env=dict(os.environ), data=data.is_dir())
        return subprocess.CompletedProcess(command, 0)

    monkeypatch.setattr(cli.subprocess, "run", fake_run)
    code, out, _ = run(capsys, "bench", "--smoke")
    assert code == 0, out
    assert seen["command"][-4:] == [
        "tests.benchmarks.bench",
        "--out",
        str(REPO / "bench-results" / "sqlite"),
        "--smoke",
    ]
    assert seen["env"]["ENV_FILE"] == "/dev/null" and seen["env"]["API_PORT"] == "5100"
    assert seen["env"]["SUBMISSION_RATE_LIMIT"] == "1000000/minute" and seen["env"]["BENCH_BASELINE"] == "true"
    assert seen["env"]["DATABASE_URL"] == f"sqlite:///{data / 'db.sqlite3'}" and seen["data"]
    assert [call[0] for call in supervisor().calls] == ["launch", "start", "start", "shutdown"]
    assert not data.exists()


# --- settings ------------------------------------------------------------------------------------


def test_a_first_start_creates_the_settings_file_private_with_its_secrets(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(config, "REPO_DIR", tmp_path)
    (tmp_path / ".env.example").write_text("DJANGO_SECRET_KEY=change-me\nSITE_NAME=Example\n")
    resolved = config.resolve({"PATH": os.environ["PATH"]})
    env = tmp_path / ".env"
    assert stat.S_IMODE(env.stat().st_mode) == 0o600
    written = config.read_file(env)
    assert len(written["DJANGO_SECRET_KEY"]) >= 50 and written["SITE_NAME"] == "Example"
    assert resolved["KAFKA_SASL_PASSWORD"] == written["KAFKA_SASL_PASSWORD"] != ""
    assert "==> created .env from .env.example" in capsys.readouterr().out
    again = config.resolve({"PATH": os.environ["PATH"]})  # nothing generated twice
    assert again["DJANGO_SECRET_KEY"] == resolved["DJANGO_SECRET_KEY"]


def test_without_a_settings_file_the_secrets_live_for_the_run_and_the_broker_url_carries_redis_s():
    resolved = config.resolve({"ENV_FILE": "/dev/null", "REDIS_PORT": "6479"})
    assert len(resolved["REDIS_PASSWORD"]) >= 24 and len(resolved["CRM_API_TOKEN"]) >= 32
    assert resolved["CELERY_BROKER_URL"].startswith("redis://:") and resolved["CELERY_BROKER_URL"].endswith(":6479/0")
    assert (resolved["KAFKA_HOST"], resolved["KAFKA_PORT"]) == ("127.0.0.1", "9092")


def test_the_file_s_settings_lose_to_the_environment_and_cli_only_names_are_ignored_there(tmp_path, capsys):
    env_file = tmp_path / "settings.env"
    env_file.write_text('API_PORT=5300\nexport SITE_NAME="A \\"quoted\\" name"\nRUN_DIR=/elsewhere\n')
    resolved = config.resolve({"ENV_FILE": str(env_file), "API_PORT": "6100"}, prepare=False)
    assert resolved["API_PORT"] == "6100" and resolved["API_PUBLIC_URL"] == "http://localhost:6100"
    assert resolved["SITE_NAME"] == 'A "quoted" name'
    assert "RUN_DIR" not in resolved
    assert "RUN_DIR is read from the environment only" in capsys.readouterr().out


def test_service_env_gives_the_shell_every_value_unchanged(tmp_path):
    values = {"SITE_NAME": 'It\'s "odd" $HOME `x`', "LEAD_OWNERS": "a@x,b@y"}
    config.write_service_env(tmp_path, values)
    shown = subprocess.run(
        ["bash", "-c", f'source {tmp_path / "service.env"}; printf "%s\\n%s" "$SITE_NAME" "$LEAD_OWNERS"'],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert shown.split("\n") == [values["SITE_NAME"], values["LEAD_OWNERS"]]


# --- Compose, and the bootstrap ------------------------------------------------------------------


@pytest.fixture
def fake_docker(tmp_path, monkeypatch):
    log = tmp_path / "docker.log"
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "docker").write_text(f'#!/bin/sh\necho "$@" >> {log}\n')
    (bin_dir / "docker").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    monkeypatch.setenv("DEPLOY_MODE", "compose")
    monkeypatch.setenv("ENV_FILE", str(tmp_path / "compose.env"))
    (tmp_path / "compose.env").write_text("")
    return lambda: log.read_text().splitlines()


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["start"], "up -d --build --wait"),
        (["stop"], "stop"),
        (["status"], "ps"),
        (["scale", "mailer", "2"], "up -d --no-deps --no-recreate --wait --scale mailer=2 mailer"),
        (["restart-service", "api"], "restart api"),
        (["stop-service", "api"], "stop api"),
        (["cleanup"], "down --volumes --remove-orphans"),
        (
            ["kafka", "topics", "--list"],
            "exec kafka /opt/kafka/bin/kafka-topics.sh --bootstrap-server localhost:29092 --list",
        ),
    ],
)
def test_compose_mode_hands_each_verb_to_docker_compose(capsys, fake_docker, argv, expected, tmp_path):
    code = cli.main(argv)
    assert code == 0, capsys.readouterr()
    assert fake_docker() == [f"compose -f docker-compose.yml --env-file {tmp_path / 'compose.env'} {expected}"]


def test_compose_mode_adds_the_cluster_file_for_three_brokers(capsys, fake_docker, tmp_path, monkeypatch):
    monkeypatch.setenv("KAFKA_BROKERS", "3")
    assert cli.main(["start"]) == 0, capsys.readouterr()
    assert fake_docker() == [
        f"compose -f docker-compose.yml -f docker-compose.cluster.yml --env-file {tmp_path / 'compose.env'} "
        "up -d --build --wait"
    ]


def test_the_bootstrap_is_short_and_gives_help_without_a_virtualenv(tmp_path):
    assert len((REPO / "deploy.sh").read_text().splitlines()) <= 60
    result = subprocess.run(
        ["./deploy.sh", "help"],
        cwd=REPO,
        env={**os.environ, "VENV": str(tmp_path / "none")},
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0 and result.stdout == (REPO / "deploy" / "ops" / "usage.txt").read_text()
    assert not (tmp_path / "none").exists()


def test_the_bootstrap_refuses_a_python_older_than_3_11(tmp_path):
    (tmp_path / "python3").write_text("#!/bin/sh\nexit 1\n")  # what `sys.version_info < (3, 11)` exits with
    (tmp_path / "python3").chmod(0o755)
    result = subprocess.run(
        ["./deploy.sh", "status"],
        cwd=REPO,
        env={**os.environ, "PATH": f"{tmp_path}:/usr/bin:/bin", "VENV": str(tmp_path / "none")},
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1
    assert (
        "error: Python 3.11+ is required" in result.stderr and "apt-get install python3 python3-venv" in result.stderr
    )


def test_failure_keeps_its_details_for_the_user():
    failure = Failure("x failed", details=["line 1", "line 2"])
    assert (failure.message, failure.code, failure.details) == ("x failed", 1, ["line 1", "line 2"])


def test_the_cli_is_run_by_the_virtualenv_s_python():
    assert Path(sys.executable).parent == runs.VENV_BIN


# --- progress and failures of long steps ---------------------------------------------------------


def test_a_long_step_prints_progress_lines_and_a_failed_one_shows_its_output_s_end(capsys):
    from ops.console import progress, quiet, ticking

    output = ticking("sleeper", ["sh", "-c", "sleep 0.35; echo done"], lambda seconds: "still going", every=0.1)
    assert output == "done\n"
    assert capsys.readouterr().err.count("still going") >= 2
    progress(
        "lister",
        ["sh", "-c", "echo Collecting a; echo other; echo Collecting b"],
        lambda line, _: line if "Collecting" in line else None,
    )
    err = capsys.readouterr().err
    assert "Collecting a" in err and "Collecting b" in err and "other" not in err
    with pytest.raises(Failure) as failed:
        quiet("the step", ["sh", "-c", "for i in $(seq 1 60); do echo line $i; done; exit 3"])
    assert failed.value.message == "the step failed"
    assert failed.value.details[0] == "line 21" and failed.value.details[-1] == "line 60"  # the last 40 lines
