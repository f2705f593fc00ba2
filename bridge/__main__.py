"""`python -m bridge`: consume the event topic and hand each event to Celery until SIGTERM/SIGINT.

`python -m bridge replay-dlq [--limit N]`: send the records parked in the dead-letter topic back to
their topic (after the fix that makes them acceptable), then exit.
"""

import argparse
import logging
import logging.config
import signal

import environ

from bridge.config import BridgeConfig
from bridge.consumer import Bridge
from bridge.replay import replay_dead_letters
from common.logs import logging_config
from common.metrics_http import metrics_http_start

logger = logging.getLogger("bridge")


def configure_logging(level: str, log_format: str) -> None:
    """The lines every process writes (common/logs.py): JSON (LOG_FORMAT=json, the default) or text, with
    the record's correlation id, and secrets redacted."""
    logging.config.dictConfig(logging_config(log_format=log_format, level=level))


def serve_metrics(host: str, port: int, allowed_hosts: tuple[str, ...]) -> None:
    """/metrics on host:port from a thread (0: none); a taken port is logged, not fatal."""
    if not port:
        return
    try:
        metrics_http_start(port, host, allowed_hosts=allowed_hosts)
    except OSError as exc:
        logger.warning("bridge: metrics not served on %s:%d (%s)", host, port, exc)
        return
    logger.info("bridge: metrics on http://%s:%d/metrics", host, port)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bridge", description=__doc__)
    parser.add_argument("--log-level", default=None, help="default: LOG_LEVEL, else INFO")
    parser.add_argument("command", nargs="?", choices=["run", "replay-dlq"], default="run")
    parser.add_argument("--limit", type=int, default=None, help="replay-dlq: at most this many records")
    args = parser.parse_args()
    config = BridgeConfig.from_env()
    # Read after BridgeConfig (which loads .env into the environment), with the Django side's names and
    # defaults (config/settings/observability.py).
    env = environ.Env()
    configure_logging(args.log_level or env.str("LOG_LEVEL", default="INFO"), env.str("LOG_FORMAT", default="json"))
    if args.command == "replay-dlq":
        print(f"{replay_dead_letters(config, limit=args.limit)} dead letter(s) replayed")
        return
    port = env.int("METRICS_PORT_BRIDGE", default=9102)
    if port:  # replica N on one host: port + 100 × N (config/settings/observability.py)
        port += 100 * env.int("METRICS_REPLICA", default=0)
    serve_metrics(env.str("BIND_HOST", default="127.0.0.1"), port, tuple(env.list("METRICS_ALLOWED_HOSTS", default=[])))
    bridge = Bridge(config)

    def stop(_signum, _frame):
        bridge.stopping.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    bridge.run_forever()


if __name__ == "__main__":
    main()
