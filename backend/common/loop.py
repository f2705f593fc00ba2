"""What the long-running loops of the backend (relay, reconciler) share: how they stop on a signal,
and a heartbeat that says whether they work, not only that they run.

The bridge uses the same heartbeat; deploy/health.py reads its format.
"""

import signal
import time
from typing import Protocol


class FailureClock:
    """Since when every attempt has failed (None while the loop makes progress), and the last error."""

    def __init__(self, *, beat_every: float = 1.0):
        self.failing_since: float | None = None
        self.last_error = ""
        self.beat_every = beat_every
        self.beaten: tuple[float, float | None] | None = None  # (monotonic time, failing_since) of the last beat

    def note(self, *, ok: bool, error: str = "") -> None:
        if ok:
            self.failing_since, self.last_error = None, ""
        else:
            self.failing_since = self.failing_since or time.time()
            self.last_error = error[:300]

    def beat(self, **extra) -> dict:
        """The heartbeat's value: {"at", "failing_since", "error", ...extra}."""
        self.beaten = (time.monotonic(), self.failing_since)
        return {"at": time.time(), "failing_since": self.failing_since, "error": self.last_error, **extra}

    def beat_due(self, *, now: float | None = None) -> bool:
        """Whether a loop should write its heartbeat now: none written yet, `beat_every` seconds since
        the last, or the loop started or stopped failing since. A busy loop passes tens of times a
        second; a Redis write on each pass bought nothing a reader (a TTL of seconds) could see."""
        if self.beaten is None:
            return True
        at, failing_since = self.beaten
        now = time.monotonic() if now is None else now
        return now - at >= self.beat_every or failing_since != self.failing_since


def stuck_for(beat: dict, *, now: float, limit: float) -> float | None:
    """Seconds a loop has failed at every attempt, if that is longer than `limit`; else None."""
    since = beat.get("failing_since")
    return now - since if since and now - since > limit else None


class Loop(Protocol):
    stopping: object

    def run_forever(self) -> None: ...


def run_until_signalled(loop: Loop) -> None:
    """Run `loop` until SIGTERM or SIGINT, which set its `stopping` event so it can drain."""

    def stop(_signum, _frame):
        loop.stopping.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    loop.run_forever()
