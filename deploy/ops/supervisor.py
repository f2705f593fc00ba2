"""supervisord, through its XML-RPC interface on the run directory's socket (no text parsing)."""

from __future__ import annotations

import http.client
import os
import time
import xmlrpc.client
from collections.abc import Iterable
from pathlib import Path

from supervisor.xmlrpc import Faults, SupervisorTransport

from ops.console import Failure, quiet


class Supervisor:
    """The supervisord of one run directory (RUN_DIR/supervisor.sock, RUN_DIR/supervisord.pid)."""

    def __init__(self, run_dir: Path, conf: Path, venv_bin: Path):
        self.run_dir, self.conf, self.venv_bin = run_dir, conf, venv_bin
        self.pid_file = run_dir / "supervisord.pid"

    @property
    def rpc(self):
        """A new connection for each call: one kept across a shutdown or a restart of supervisord
        would be stale."""
        transport = SupervisorTransport(None, None, f"unix://{self.run_dir / 'supervisor.sock'}")
        return xmlrpc.client.ServerProxy("http://127.0.0.1", transport=transport).supervisor

    def _pid_file(self) -> int | None:
        try:
            return int(self.pid_file.read_text().strip())
        except (OSError, ValueError):
            return None

    def answering_pid(self) -> int | None:
        """The pid supervisord reports on the socket, or None when nothing answers there."""
        try:
            return int(self.rpc.getPID())
        except (OSError, http.client.HTTPException, xmlrpc.client.Fault, xmlrpc.client.ProtocolError):
            return None

    def running(self) -> bool:
        """This run directory's supervisord answers. A pid file outlives a reboot, and its pid may by
        then be another process's: it counts only if that process is supervisord with our
        configuration and it is the one our socket answers for."""
        pid = self._pid_file()
        if pid is None:
            return False
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            return False
        return "supervisord" in cmdline and str(self.conf) in cmdline and self.answering_pid() == pid

    def stale_pid(self) -> int | None:
        """When not running: the pid of a pid file left by a crash or a reboot (None if there is none)."""
        return self._pid_file() if self.pid_file.exists() else None

    def launch(self, timeout: float = 15.0) -> None:
        """Start supervisord (it daemonizes) and wait until it answers on its socket."""
        quiet("supervisord", [self.venv_bin / "supervisord", "-c", self.conf])
        deadline = time.monotonic() + timeout
        while self.answering_pid() is None:
            if time.monotonic() > deadline:
                raise Failure(f"supervisord did not answer on {self.run_dir / 'supervisor.sock'} within {timeout:.0f}s")
            time.sleep(0.1)  # the poll interval of a socket that appears when supervisord is up

    def states(self) -> dict[str, str]:
        """'group:process' -> state name (RUNNING, STOPPED, BACKOFF, ...)."""
        return {f"{info['group']}:{info['name']}": info["statename"] for info in self.rpc.getAllProcessInfo()}

    def start(self, names: Iterable[str]) -> None:
        """Start each process and wait until it is RUNNING (its startsecs), in order."""
        for name in names:
            try:
                self.rpc.startProcess(name, True)
            except xmlrpc.client.Fault as fault:
                if fault.faultCode != Faults.ALREADY_STARTED:
                    service = name.split(":", 1)[-1]
                    raise Failure(
                        f"{service} did not start ({fault.faultString}; ./deploy.sh logs {service})"
                    ) from fault

    def stop(self, names: Iterable[str]) -> None:
        for name in names:
            try:
                self.rpc.stopProcess(name, True)
            except xmlrpc.client.Fault as fault:
                if fault.faultCode != Faults.NOT_RUNNING:
                    raise Failure(f"{name} did not stop ({fault.faultString})") from fault

    def shutdown(self, timeout: float = 120.0) -> None:
        """Stop every process (the apps first: group priorities) and supervisord; wait until it is gone."""
        pid = self._pid_file()
        self.rpc.shutdown()
        deadline = time.monotonic() + timeout
        while pid is not None and _alive(pid):
            if time.monotonic() > deadline:
                raise Failure(f"supervisord (pid {pid}) still running {timeout:.0f}s after its shutdown")
            time.sleep(0.2)  # the poll interval of a process that stops its children first


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie is gone for our purposes (supervisord daemonized: its parent is init, which reaps it).
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return False
