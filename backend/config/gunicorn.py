"""gunicorn's settings for the API: `gunicorn -c backend/config/gunicorn.py … config.wsgi`.

Metrics: the API runs several worker processes, each counting its own requests. prometheus_client's
multiprocess mode has every worker write its numbers to files in PROMETHEUS_MULTIPROC_DIR (default:
RUN_DIR/metrics-api, else a new temporary directory), and /metrics (django-prometheus) adds them up.
The variable is set here, in the master, before anything imports prometheus_client, so the workers
inherit it; when a master starts it deletes the files of processes that are gone (numbers of an
earlier run must not count; another replica's stay), and a worker that exits is marked dead (a live
gauge of it leaves the sum; its counters stay until the next start).

Logs: with LOG_FORMAT=json (the default) gunicorn's own lines and its access log are JSON too, an
access line carrying the correlation id of the submission the request created or read.
"""

import os
import tempfile
from pathlib import Path

from common.defaults import Settings

SETTINGS = Settings()  # the environment, with the one table's defaults


def _metrics_dir() -> str:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return os.environ["PROMETHEUS_MULTIPROC_DIR"]
    if os.environ.get("RUN_DIR"):
        return os.path.join(os.environ["RUN_DIR"], "metrics-api")
    return tempfile.mkdtemp(prefix="api-metrics-")


os.environ["PROMETHEUS_MULTIPROC_DIR"] = _metrics_dir()
os.makedirs(os.environ["PROMETHEUS_MULTIPROC_DIR"], exist_ok=True)

from gunicorn import glogging  # noqa: E402
from prometheus_client import multiprocess  # noqa: E402

from common.logs import CorrelationIdFilter, JsonFormatter, SecretsFilter  # noqa: E402
from config.settings.observability import LOG_FORMAT  # noqa: E402

# gthread, giving a thread only to a request that has fully arrived (config/gunicorn_worker.py says why).
worker_class = "config.gunicorn_worker.BufferedRequestWorker"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, another user's
        return True
    return True


def on_starting(server) -> None:
    """The master starts: forget the numbers of earlier runs, whose processes are gone (not on a
    reload: its workers live on). Files of live processes stay: those of the other API replicas
    (./deploy.sh scale api N), which share the folder so that each one's /metrics adds up all."""
    directory = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])
    for stale in directory.glob("*.db"):
        pid = stale.stem.rpartition("_")[2]  # counter_1234.db, gauge_livesum_1234.db
        if not (pid.isdigit() and _alive(int(pid))):
            stale.unlink(missing_ok=True)


def child_exit(server, worker) -> None:
    multiprocess.mark_process_dead(worker.pid)


def when_ready(server) -> None:
    """METRICS_PORT_API (Compose: 9100): the workers' summed metrics also on a port of their own,
    served by the master, for a scraper that reaches the API by address, not by an allowed host name
    (Django answers such a Host header with 400). 0 (local default): /metrics on the API's port only."""
    port = int(SETTINGS["METRICS_PORT_API"])
    if port:
        from prometheus_client import CollectorRegistry

        from common.metrics_http import metrics_http_start

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        allowed = tuple(SETTINGS["METRICS_ALLOWED_HOSTS"].split(","))
        metrics_http_start(port, SETTINGS["BIND_HOST"], registry=registry, allowed_hosts=allowed)


class JsonLogger(glogging.Logger):
    """gunicorn's logs as JSON lines; an access line has the request's fields (never its query string,
    which may hold an access token) and the correlation id the view set."""

    def setup(self, cfg) -> None:
        super().setup(cfg)
        for log in (self.error_log, self.access_log):
            for handler in log.handlers:
                handler.setFormatter(JsonFormatter())
                handler.addFilter(CorrelationIdFilter())
                handler.addFilter(SecretsFilter())

    def access(self, resp, req, environ, request_time) -> None:
        if not self.access_log_enabled:
            return
        try:
            status = resp.status.split(None, 1)[0] if isinstance(resp.status, str) else resp.status
            method, path = environ.get("REQUEST_METHOD"), environ.get("PATH_INFO")
            fields = {
                "remote_addr": environ.get("REMOTE_ADDR"),
                "method": method,
                "path": path,
                "status": int(status),
                "bytes": getattr(resp, "sent", None),
                "duration_ms": round(request_time.total_seconds() * 1000, 2),
                "user_agent": environ.get("HTTP_USER_AGENT"),
            }
            self.access_log.info("%s %s %s", method, path, status, extra=fields)
        except Exception:  # as gunicorn's own: a log line never fails a request
            self.exception("access log line not written")


if LOG_FORMAT == "json":
    logger_class = JsonLogger
