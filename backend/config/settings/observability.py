"""What operators read: the Prometheus ports of the processes that have no HTTP server, and the log format.

The API serves /metrics on its own port (django-prometheus). The relay, the bridge, the two Celery
workers and the reconciler each serve /metrics on BIND_HOST at the port below (0 turns it off); the
bridge reads its port from the environment itself (bridge/__main__.py), with the same default.
"""

from config.env import env
from config.settings.celery import CELERY_TASK_DEFAULT_QUEUE, CELERY_TASK_ROUTES

# Where the processes listen (local mode: loopback; a container that is scraped from outside: 0.0.0.0).
BIND_HOST = env.str("BIND_HOST")
# Host names a metrics port answers besides IP addresses and localhost (common/metrics_http.py: no
# other name, so a page cannot rebind its own name to this host and read the numbers).
METRICS_ALLOWED_HOSTS = tuple(env.list("METRICS_ALLOWED_HOSTS"))

# Replica N of a scaled process on one host (supervisord's mailer-N, workflow-agent-N, bridge-N: its
# command line sets METRICS_REPLICA=N) serves on its port + METRICS_PORT_STRIDE × N, so that no two
# collide (the ports are adjacent; 7 replicas reach 9803).
METRICS_REPLICA = env.int("METRICS_REPLICA")
METRICS_PORT_STRIDE = 100


def _metrics_port(name: str) -> int:
    port = env.int(name)
    return port + METRICS_PORT_STRIDE * METRICS_REPLICA if port else 0


METRICS_PORT_RELAY = _metrics_port("METRICS_PORT_RELAY")
METRICS_PORT_BRIDGE = _metrics_port("METRICS_PORT_BRIDGE")
METRICS_PORT_MAILER = _metrics_port("METRICS_PORT_MAILER")
METRICS_PORT_WORKFLOW_AGENT = _metrics_port("METRICS_PORT_WORKFLOW_AGENT")
METRICS_PORT_RECONCILER = _metrics_port("METRICS_PORT_RECONCILER")
# A Celery worker serves its metrics on the port of the first of these queues it consumes (-Q).
METRICS_PORT_BY_QUEUE = {
    CELERY_TASK_ROUTES["mailer.*"]["queue"]: ("mailer", METRICS_PORT_MAILER),
    CELERY_TASK_DEFAULT_QUEUE: ("workflow-agent", METRICS_PORT_WORKFLOW_AGENT),
}

# json (default): one JSON object per line, with the submission's `correlation_id`; plain: text lines.
LOG_FORMAT = env.str("LOG_FORMAT")
LOG_LEVEL = env.str("LOG_LEVEL")
