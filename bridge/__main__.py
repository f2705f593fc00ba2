"""`python -m bridge`: consume the event topic and hand each event to Celery until SIGTERM/SIGINT."""

import argparse
import logging
import signal

from bridge.config import BridgeConfig
from bridge.consumer import Bridge


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bridge", description=__doc__)
    parser.add_argument("--log-level", default="INFO")
    args = parser.parse_args()
    logging.basicConfig(level=args.log_level, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    bridge = Bridge(BridgeConfig.from_env())

    def stop(_signum, _frame):
        bridge.stopping.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    bridge.run_forever()


if __name__ == "__main__":
    main()
