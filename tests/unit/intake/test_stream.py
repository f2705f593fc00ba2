"""The live stream's hub and viewers, without Redis: notifications are handed to the hub directly."""

import asyncio
import contextlib
import json
import uuid

import pytest
from django.test import AsyncClient
from django.utils.deprecation import MiddlewareMixin
from django.utils.module_loading import import_string

from events import EmailDispatched, WorkflowCompleted, make_envelope
from intake.services import timeline_record
from pipeline import stream, stream_hub
from tests.conftest import run_async
from tests.unit.factories import SubmissionFactory, access_token_for


def run(coro):
    return run_async(coro, timeout=10)


async def woken(event: asyncio.Event) -> bool:
    await asyncio.sleep(0)
    return event.is_set()


def test_a_notification_wakes_every_viewer_of_its_submission_and_no_other():
    async def scenario():
        hub = stream_hub.Hub(channel="test")
        first, second, other = hub.register("a"), hub.register("a"), hub.register("b")
        hub.notify(b"a")
        return [await woken(first), await woken(second), await woken(other)]

    assert run(scenario()) == [True, True, False]


def test_an_empty_or_unknown_payload_wakes_nobody():
    async def scenario():
        hub = stream_hub.Hub(channel="test")
        viewer = hub.register("a")
        hub.notify(b"")
        hub.notify(b"nobody-watches-this")
        return await woken(viewer), hub.topics["a"].generation

    assert run(scenario()) == (False, 0)


def test_a_viewer_that_leaves_is_forgotten_and_the_count_follows():
    async def scenario():
        hub = stream_hub.Hub(channel="test")
        first, second = hub.register("a"), hub.register("a")
        assert hub.viewers == 2
        hub.unregister("a", first)
        hub.unregister("a", first)  # twice is harmless
        assert hub.viewers == 1 and "a" in hub.topics
        hub.unregister("a", second)
        return hub.viewers, hub.topics

    assert run(scenario()) == (0, {})


def test_viewers_of_one_submission_share_one_read_until_the_next_notification():
    reads = []

    async def read(key):
        reads.append(key)
        await asyncio.sleep(0.01)
        return json.dumps({"n": len(reads)}), "PROCESSING"

    async def scenario():
        hub = stream_hub.Hub(channel="test")
        for _ in range(3):
            hub.register("a")
        together = await asyncio.gather(*(hub.snapshot("a", read) for _ in range(3)))
        hub.notify(b"a")
        after = await hub.snapshot("a", read)
        return together, after

    together, after = run(scenario())
    assert len({body for body, _ in together}) == 1
    assert after[0] == json.dumps({"n": 2})
    assert reads == ["a", "a"]


def fake_states(*statuses: str):
    """A reader returning the given statuses one read after another (the last one for good)."""
    remaining = list(statuses)

    async def read(key):
        status = remaining.pop(0) if len(remaining) > 1 else remaining[0]
        return json.dumps({"id": key, "status": status}), status

    return read


def test_the_stream_sends_each_changed_state_once_and_ends_at_a_final_one(monkeypatch):
    monkeypatch.setattr(stream, "STREAM_FALLBACK_SECONDS", 60)  # only notifications move this stream
    hub = stream_hub.Hub(channel="test")
    statuses = ["RECEIVED", "RECEIVED", "PROCESSING", "COMPLETED"]

    async def read(key):
        # A change commits while this read runs: its notification must make the viewer read again.
        hub.notify(key.encode())
        status = statuses.pop(0)
        return json.dumps({"id": key, "status": status}), status

    async def scenario():
        return [chunk async for chunk in stream.submission_event_stream(hub, "a", read=read)]

    chunks = run(scenario())
    sent = [json.loads(chunk.split("data: ", 1)[1])["status"] for chunk in chunks]
    assert sent == ["RECEIVED", "PROCESSING", "COMPLETED"]
    assert all(chunk.startswith("event: state\ndata: ") and chunk.endswith("\n\n") for chunk in chunks)
    assert statuses == [] and hub.viewers == 0


def test_without_notifications_the_stream_reads_again_on_its_fallback_timer(monkeypatch):
    monkeypatch.setattr(stream, "STREAM_FALLBACK_SECONDS", 0.01)

    async def scenario():
        hub = stream_hub.Hub(channel="test")
        events = stream.submission_event_stream(hub, "a", read=fake_states("PROCESSING", "COMPLETED"))
        return [chunk async for chunk in events]

    assert len(run(scenario())) == 2


def test_a_failed_read_is_tried_again_and_the_stream_goes_on(monkeypatch):
    monkeypatch.setattr(stream, "STREAM_FALLBACK_SECONDS", 0.01)
    monkeypatch.setattr(stream, "STREAM_UNSUBSCRIBED_POLL_SECONDS", 0.01)
    attempts = []

    async def read(key):
        attempts.append(key)
        if len(attempts) < 3:
            raise RuntimeError("database is locked")
        return json.dumps({"status": "COMPLETED"}), "COMPLETED"

    async def scenario():
        hub = stream_hub.Hub(channel="test")
        return [chunk async for chunk in stream.submission_event_stream(hub, "a", read=read)], hub.viewers

    chunks, viewers = run(scenario())
    assert chunks == ['event: state\ndata: {"status": "COMPLETED"}\n\n']
    assert len(attempts) == 3 and viewers == 0


def test_keep_alives_do_not_read_the_database_while_the_channel_is_heard(monkeypatch):
    monkeypatch.setattr(stream, "STREAM_KEEPALIVE_SECONDS", 0.02)
    monkeypatch.setattr(stream, "STREAM_MAX_SECONDS", 0.2)
    reads = []

    async def read(key):
        reads.append(key)
        return json.dumps({"status": "PROCESSING"}), "PROCESSING"

    async def scenario():
        hub = stream_hub.Hub(channel="test")
        hub.subscribed = True  # as when the hub hears the channel: no fallback read for a minute
        return [chunk async for chunk in stream.submission_event_stream(hub, "a", read=read)]

    chunks = run(scenario())
    assert chunks.count(": keep-alive\n\n") >= 3
    assert len(reads) == 1  # the first state only


def test_a_quiet_stream_sends_keep_alives_and_ends_after_its_maximum(monkeypatch):
    monkeypatch.setattr(stream, "STREAM_KEEPALIVE_SECONDS", 0.02)
    monkeypatch.setattr(stream, "STREAM_MAX_SECONDS", 0.1)

    async def scenario():
        hub = stream_hub.Hub(channel="test")
        return [chunk async for chunk in stream.submission_event_stream(hub, "a", read=fake_states("PROCESSING"))]

    chunks = run(scenario())
    assert chunks[0].startswith("event: state")
    assert ": keep-alive\n\n" in chunks[1:]
    assert all(chunk == ": keep-alive\n\n" for chunk in chunks[1:])


class FakePubSub:
    def __init__(self, queue: asyncio.Queue):
        self.queue = queue

    async def subscribe(self, channel):
        pass

    async def get_message(self, timeout):
        try:
            async with asyncio.timeout(timeout):
                return await self.queue.get()
        except TimeoutError:
            return None

    async def ping(self):
        pass

    async def aclose(self):
        pass


class FakeRedis:
    """Refuses the first connection; later ones deliver what the test puts in `queue`."""

    def __init__(self, queue: asyncio.Queue, attempts: list):
        self.queue = queue
        attempts.append(self)
        self.refuse = len(attempts) == 1

    def pubsub(self, ignore_subscribe_messages):
        if self.refuse:
            raise ConnectionRefusedError("Redis is not there yet")
        return FakePubSub(self.queue)

    async def aclose(self):
        pass


async def until(predicate) -> None:
    while not predicate():
        await asyncio.sleep(0.005)


def test_the_subscription_reconnects_and_wakes_every_viewer_when_it_is_back(monkeypatch):
    monkeypatch.setattr(stream_hub, "RECONNECT_MIN_SECONDS", 0.01)
    attempts = []

    async def scenario():
        queue = asyncio.Queue()
        hub = stream_hub.Hub(channel="test", connect=lambda: FakeRedis(queue, attempts))
        viewer = hub.register("a")
        await until(lambda: hub.subscribed)
        woken_on_subscribe = viewer.is_set()  # what was sent while it was away is lost: read again
        viewer.clear()
        queue.put_nowait({"type": "message", "data": b""})
        queue.put_nowait({"type": "message", "data": b"a"})
        await until(queue.empty)
        hub._listener.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await hub._listener
        return woken_on_subscribe, viewer.is_set(), hub.topics["a"].generation, hub.subscribed

    assert run(scenario()) == (True, True, 2, False)
    assert len(attempts) == 2


# --- the view, as the stream process serves it ---------------------------------------------------


@pytest.fixture
def stream_app(settings, monkeypatch):
    from config.settings import stream as stream_settings

    settings.ROOT_URLCONF = stream_settings.ROOT_URLCONF
    settings.MIDDLEWARE = stream_settings.MIDDLEWARE
    hub = stream_hub.Hub(channel="test")  # no Redis in unit tests
    monkeypatch.setattr(stream_hub, "_hub", hub)
    return hub


def test_every_middleware_of_the_stream_process_runs_in_the_event_loop():
    from config.settings import stream as stream_settings

    classes = [import_string(name) for name in stream_settings.MIDDLEWARE]
    assert all(cls.async_capable for cls in classes)
    # MiddlewareMixin runs its hooks on the request's thread: a thread per live viewer.
    assert not [cls for cls in classes if issubclass(cls, MiddlewareMixin)]
    assert "corsheaders.middleware.CorsMiddleware" in stream_settings.MIDDLEWARE


@pytest.mark.django_db(transaction=True)
def test_an_unknown_submission_gets_a_json_404(stream_app):
    response = run(AsyncClient().get(f"/api/submissions/{uuid.uuid4()}/events"))
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}


def test_viewers_beyond_the_cap_get_a_json_503(stream_app, settings):
    settings.STREAM_MAX_VIEWERS = 1

    async def scenario():
        stream_app.register("someone-else")
        return await AsyncClient().get(f"/api/submissions/{uuid.uuid4()}/events")

    response = run(scenario())
    assert response.status_code == 503
    assert "try again" in response.json()["detail"]


@pytest.mark.django_db(transaction=True)
def test_a_finished_submission_streams_its_state_once_with_cors_and_no_caching(stream_app, settings):
    settings.CORS_ALLOWED_ORIGINS = ["http://localhost:3000"]
    submission = SubmissionFactory()
    token = access_token_for(submission)
    for event in (
        EmailDispatched(submission_id=str(submission.id), message_id="m"),
        WorkflowCompleted(submission_id=str(submission.id), owner="o", crm_lead_id="1"),
    ):
        timeline_record(envelope=make_envelope(event, source="t", correlation_id=str(submission.correlation_id)))

    async def scenario():
        url = f"/api/submissions/{submission.id}/events?access_token={token}"
        response = await AsyncClient().get(url, headers={"Origin": "http://localhost:3000"})
        return response, [chunk async for chunk in response.streaming_content]

    response, chunks = run(scenario())
    assert response.status_code == 200
    assert response["Content-Type"] == "text/event-stream"
    assert response["Cache-Control"] == "no-cache, private" and response["X-Accel-Buffering"] == "no"
    assert response["Access-Control-Allow-Origin"] == "http://localhost:3000"
    assert len(chunks) == 1
    state = json.loads(chunks[0].decode().removeprefix("event: state\ndata: "))
    assert state["id"] == str(submission.id) and state["status"] == "COMPLETED"
    assert stream_app.viewers == 0


def test_an_oversized_body_gets_a_json_413_in_the_event_loop_too(stream_app):
    response = run(AsyncClient().post("/health", data="x" * 300_000, content_type="text/plain"))
    assert response.status_code == 413
    assert "larger than the limit" in response.json()["detail"]


# --- who may follow a submission (finding 7) and how many streams a client holds (finding 8) -----


def finished_submission():
    submission = SubmissionFactory()
    for event in (
        EmailDispatched(submission_id=str(submission.id), message_id="m"),
        WorkflowCompleted(submission_id=str(submission.id), owner="o", crm_lead_id="1"),
    ):
        timeline_record(envelope=make_envelope(event, source="t", correlation_id=str(submission.correlation_id)))
    return submission


def get_stream(url, cookies=None, **headers):
    async def scenario():
        client = AsyncClient()
        for name, value in (cookies or {}).items():
            client.cookies[name] = value
        response = await client.get(url, **headers)
        chunks = [chunk async for chunk in response.streaming_content] if response.streaming else []
        return response, b"".join(chunks).decode()

    return run(scenario())


@pytest.mark.django_db(transaction=True)
def test_the_stream_needs_the_submissions_token(stream_app):
    submission = finished_submission()
    token = access_token_for(submission)
    url = f"/api/submissions/{submission.id}/events"
    anonymous, _ = get_stream(url)
    assert anonymous.status_code == 401 and "access token" in anonymous.json()["detail"]
    assert get_stream(f"{url}?access_token=guessed")[0].status_code == 403
    by_query, body = get_stream(f"{url}?access_token={token}")
    assert by_query.status_code == 200 and str(submission.email) in body
    by_header, _ = get_stream(url, headers={"Authorization": f"Bearer {token}"})
    assert by_header.status_code == 200


@pytest.mark.django_db(transaction=True)
def test_staff_follow_any_submission_with_the_apis_session(stream_app, admin_user, settings):
    from django.test import Client

    submission = finished_submission()
    access_token_for(submission)
    api = Client()
    api.force_login(admin_user)
    cookie = api.cookies[settings.SESSION_COOKIE_NAME].value
    url = f"/api/submissions/{submission.id}/events"
    response, body = get_stream(url, cookies={settings.SESSION_COOKIE_NAME: cookie})
    assert response.status_code == 200 and str(submission.id) in body
    forged, _ = get_stream(url, cookies={settings.SESSION_COOKIE_NAME: "forged"})
    assert forged.status_code == 401
    admin_user.set_password("a new password")  # every session made before is void, as in the admin
    admin_user.save()
    stale, _ = get_stream(url, cookies={settings.SESSION_COOKIE_NAME: cookie})
    assert stale.status_code == 401


@pytest.mark.django_db(transaction=True)
def test_a_client_beyond_its_stream_limit_gets_429_whatever_it_forwards(stream_app, settings):
    settings.STREAM_MAX_PER_CLIENT = 2
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 0}
    submission = SubmissionFactory()  # in flight: its streams stay open
    token = access_token_for(submission)
    url = f"/api/submissions/{submission.id}/events?access_token={token}"

    async def follow(n: int, started: asyncio.Event):
        response = await AsyncClient().get(url, headers={"X-Forwarded-For": f"198.51.100.{n}"})
        async for _ in response.streaming_content:
            started.set()  # the stream has started: it counts until the viewer goes

    async def scenario():
        viewers = []
        for n in range(2):
            started = asyncio.Event()
            viewers.append(asyncio.create_task(follow(n, started)))
            await started.wait()
        refused = await AsyncClient().get(url, headers={"X-Forwarded-For": "198.51.100.99"})
        for viewer in viewers:  # what the server does when a viewer disconnects
            viewer.cancel()
        await asyncio.gather(*viewers, return_exceptions=True)
        after = await AsyncClient().get(url)
        return refused, after.status_code

    refused, after = run(scenario())
    assert refused.status_code == 429 and refused["Retry-After"] == "5"
    assert "live streams per client" in refused.json()["detail"]
    assert after == 200  # a client whose viewers left has its allowance back
