"""`python -m bridge`: consume the event topic and hand each event to Celery until SIGTERM/SIGINT.

`python -m bridge replay-dlq [--limit N]`: send the records parked in the dead-letter topic back to
their topic (after the fix that makes them acceptable), then exit.
"""

import argparse
import logging
import signal

from bridge.config import BridgeConfig
from bridge.consumer import Bridge
from bridge.replay import replay_dead_letters


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bridge", description=__doc__)
    parser.add_argument("--log-level", default="INFO")
    parser.add_argument("command", nargs="?", choices=["run", "replay-dlq"], default="run")
    parser.add_argument("--limit", type=int, default=None, help="replay-dlq: at most this many records")
    args = parser.parse_args()
    logging.basicConfig(level=args.log_level, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    if args.command == "replay-dlq":
        print(f"{replay_dead_letters(BridgeConfig.from_env(), limit=args.limit)} dead letter(s) replayed")
        return
    bridge = Bridge(BridgeConfig.from_env())

    def stop(_signum, _frame):
        bridge.stopping.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    bridge.run_forever()


if __name__ == "__main__":
    main()
