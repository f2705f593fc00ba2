"""Live progress, pushed: each submission's state as server-sent events, sent when it changes.

Every commit that changes what a submission shows publishes the submission's id on
OUTBOX_WAKEUP_CHANNEL (`outbox_notify`; the mailer's retry mark and the bridge's hand-off report
too). The hub (pipeline/stream_hub.py) holds this process's one subscription to that channel and wakes
the viewers of that id; each reads the state once and sends it if it changed. The process runs under uvicorn
(`config.asgi`, `config.settings.stream`): a viewer costs a socket and a coroutine, not a thread.
"""

import asyncio
import json
import logging
import random
from collections import Counter
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from importlib import import_module

from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.auth import HASH_SESSION_KEY, SESSION_KEY, get_user_model
from django.core.serializers.json import DjangoJSONEncoder
from django.db import close_old_connections
from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.utils.crypto import constant_time_compare

from infra.client import client_address
from intake.access import access_check, bearer_token
from intake.models import Submission
from pipeline.api import SubmissionOutputSerializer
from pipeline.selectors import FINAL_STATUSES, submission_state
from pipeline.stream_hub import Hub, Reader, State, get_hub

logger = logging.getLogger(__name__)

# The stream ends after this so that no connection is held forever; EventSource reconnects by
# itself and gets the current state first.
STREAM_MAX_SECONDS = 300
# A comment line after this much silence, so that proxies keep a quiet stream open.
STREAM_KEEPALIVE_SECONDS = 15
# A viewer reads again after this long without a notification, in case one was lost (jittered, so
# that viewers who connected together do not read together). Every viewer is woken when the hub
# (re)subscribes, so a lost notification is rare: the safety net can be wide while subscribed; while
# the channel is down, viewers poll at the short pace.
STREAM_FALLBACK_SECONDS = 60.0
STREAM_UNSUBSCRIBED_POLL_SECONDS = 5.0
# Database reads run on these threads, which bound this process's database connections. A read is
# mostly Python (a millisecond or two): more threads than this only contend for the GIL.
READ_THREADS = 4

_reads = ThreadPoolExecutor(max_workers=READ_THREADS, thread_name_prefix="stream-read")


def _read_state(key: str) -> State | None:
    # A pool thread keeps its connection between reads (CONN_MAX_AGE), unless it broke or aged.
    close_old_connections()
    try:
        submission = Submission.objects.get(id=key)
    except Submission.DoesNotExist:
        return None
    data = SubmissionOutputSerializer(submission_state(submission=submission)).data
    return json.dumps(data, cls=DjangoJSONEncoder), data["status"]


def _is_staff(session_key: str | None) -> bool:
    """Whether the API's session cookie belongs to an active staff user (this process has no auth middleware)."""
    if not session_key:
        return False
    session = import_module(settings.SESSION_ENGINE).SessionStore(session_key)
    user_id = session.get(SESSION_KEY)
    user = get_user_model().objects.filter(pk=user_id, is_active=True, is_staff=True).first() if user_id else None
    # As Django's own login check: a session made before the user's password changed no longer counts.
    return user is not None and constant_time_compare(session.get(HASH_SESSION_KEY, ""), user.get_session_auth_hash())


def _access_denied(key: str, token: str, session_key: str | None) -> JsonResponse | None:
    """None when the viewer may follow submission `key`, else the answer to give it."""
    close_old_connections()
    submission = Submission.objects.filter(id=key).only("id", "created_at", "access_token_hash").first()
    if submission is None:
        return JsonResponse({"detail": "Not found."}, status=404)
    denied = access_check(submission=submission, token=token)
    if denied is None or _is_staff(session_key):
        return None
    return JsonResponse({"detail": denied.detail}, status=denied.status)


read_state: Reader = sync_to_async(_read_state, thread_sensitive=False, executor=_reads)
access_denied = sync_to_async(_access_denied, thread_sensitive=False, executor=_reads)

# Live streams open per client address in this process (STREAM_MAX_PER_CLIENT).
_per_client: Counter[str] = Counter()


async def _counted(client: str, stream: AsyncIterator[str]) -> AsyncIterator[str]:
    _per_client[client] += 1
    try:
        async for chunk in stream:
            yield chunk
    finally:
        _per_client[client] -= 1
        if _per_client[client] <= 0:
            del _per_client[client]


async def submission_event_stream(hub: Hub, key: str, *, read: Reader = read_state) -> AsyncIterator[str]:
    """Server-sent events: the state first, then each changed state, until it is final.

    The viewer registers before its first read, so a change committed after that read wakes it.
    """
    loop = asyncio.get_running_loop()
    wake = hub.register(key)
    try:
        started = last_sent = loop.time()
        last_body, failing = None, False
        while True:
            try:
                state = await hub.snapshot(key, read)
            except Exception as exc:  # the database away for a moment: read again at the next wake
                if not failing:  # once per outage, not at every attempt
                    logger.warning("stream: reading submission %s failed (%s); retrying", key, exc)
                failing = True
            else:
                failing = False
                if state is None:
                    return  # the submission is gone
                body, status = state
                if body != last_body:
                    last_body, last_sent = body, loop.time()
                    yield f"event: state\ndata: {body}\n\n"
                    if status in FINAL_STATUSES:
                        return
            now = loop.time()
            if now - started >= STREAM_MAX_SECONDS:
                return
            if now - last_sent >= STREAM_KEEPALIVE_SECONDS:
                last_sent = now
                yield ": keep-alive\n\n"
            pace = STREAM_FALLBACK_SECONDS if hub.subscribed else STREAM_UNSUBSCRIBED_POLL_SECONDS
            read_by = now + pace * random.uniform(0.8, 1.2)
            while not wake.is_set():  # keep-alives alone do not read the database
                now = loop.time()
                pause = min(read_by, last_sent + STREAM_KEEPALIVE_SECONDS, started + STREAM_MAX_SECONDS) - now
                try:
                    async with asyncio.timeout(max(0.0, pause)):
                        await wake.wait()
                except TimeoutError:
                    pass
                now = loop.time()
                if now >= read_by or now - started >= STREAM_MAX_SECONDS:
                    break
                if not wake.is_set() and now - last_sent >= STREAM_KEEPALIVE_SECONDS:
                    last_sent = now
                    yield ": keep-alive\n\n"
            wake.clear()  # before the read: a notification during it wakes the next wait at once
    finally:
        hub.unregister(key, wake)


async def submission_events_api(request: HttpRequest, submission_id) -> HttpResponse:
    """Live progress of one submission as text/event-stream."""
    hub, key = get_hub(), str(submission_id)
    # A viewer counts once its stream starts, so a burst of new ones can pass the cap by a few.
    if hub.viewers >= settings.STREAM_MAX_VIEWERS:
        body = {"detail": "This server follows as many live submissions as it can; try again shortly."}
        return JsonResponse(body, status=503, headers={"Retry-After": "10"})
    client = client_address(request)
    if _per_client[client] >= settings.STREAM_MAX_PER_CLIENT:
        body = {"detail": f"At most {settings.STREAM_MAX_PER_CLIENT} live streams per client; close one first."}
        return JsonResponse(body, status=429, headers={"Retry-After": "5"})
    token = bearer_token(request.headers, request.GET)
    denied = await access_denied(key, token, request.COOKIES.get(settings.SESSION_COOKIE_NAME))
    if denied is not None:
        return denied
    stream = _counted(client, submission_event_stream(hub, key))
    response = StreamingHttpResponse(stream, content_type="text/event-stream")
    response["Cache-Control"] = "no-cache, private"
    response["X-Accel-Buffering"] = "no"  # let a proxy pass each event through at once
    return response


async def stream_health(request: HttpRequest) -> JsonResponse:
    """Liveness of the stream process: its loop answers. Says whether it hears the wake-up channel."""
    hub = get_hub()
    hub.ensure_listening()  # so that the subscription is up before the first viewer comes
    return JsonResponse({"status": "ok", "subscribed": hub.subscribed, "viewers": hub.viewers})
