"""The Kafka → Celery bridge. It imports the pure `events` package from backend/, never Django."""

import sys
from pathlib import Path

_BACKEND = str(Path(__file__).resolve().parent.parent / "backend")
if _BACKEND not in sys.path:
    sys.path.insert(0, _BACKEND)
