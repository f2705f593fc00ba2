"""common/loop.py: a busy loop writes its heartbeat about once a second, and at once when its health turns."""

from common.loop import FailureClock


def test_a_heartbeat_is_due_first_then_once_a_second():
    clock = FailureClock(beat_every=1.0)
    assert clock.beat_due()
    clock.beat()
    start = clock.beaten[0]
    assert not clock.beat_due(now=start + 0.5)
    assert clock.beat_due(now=start + 1.0)


def test_a_heartbeat_is_due_at_once_when_the_loop_starts_or_stops_failing():
    clock = FailureClock(beat_every=60.0)
    clock.beat()
    start = clock.beaten[0]
    clock.note(ok=False, error="broker away")
    assert clock.beat_due(now=start)
    beat = clock.beat()
    assert beat["failing_since"] is not None and beat["error"] == "broker away"
    clock.note(ok=False, error="broker still away")  # failing on: the same state, nothing new to say yet
    assert not clock.beat_due(now=clock.beaten[0])
    clock.note(ok=True)
    assert clock.beat_due(now=clock.beaten[0])
    assert clock.beat()["failing_since"] is None
