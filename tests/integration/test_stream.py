"""The live stream on its own process (uvicorn), pushed by Redis notifications, against the real pipeline."""

import asyncio
import json
import os
import subprocess
import uuid

import aiohttp
import pytest
import requests

from tests.conftest import report_figure, run_async, submit
from tests.servers import BIN, REPO, read_submission, remember_token, stream_url, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("dump_logs_on_failure")]


def unique_email() -> str:
    return f"viewer-{uuid.uuid4().hex[:12]}@example.org"


def shell(stack, code: str) -> str:
    cmd = [str(BIN / "python"), "manage.py", "shell", "-c", code]
    return subprocess.run(cmd, env=stack.env, cwd=REPO, capture_output=True, text=True, check=True, timeout=60).stdout


def parked_submissions(stack, count: int) -> list[str]:
    """Submissions stored without their event: they stay RECEIVED until `release` hands it over."""
    code = (
        "from intake.access import access_token_new\n"
        "from intake.models import Submission\n"
        f"for _ in range({count}):\n"
        "    token, digest = access_token_new()\n"
        "    created = Submission.objects.create(\n"
        "        name='Parked', email='parked@example.org', message='Hi', access_token_hash=digest\n"
        "    )\n"
        "    print('parked', created.id, token)\n"
    )
    ids = []
    for line in shell(stack, code).splitlines():
        words = line.split()
        if len(words) == 3 and words[0] == "parked":
            ids.append(remember_token({"id": str(uuid.UUID(words[1])), "access_token": words[2]})["id"])
    assert len(ids) == count
    return ids


def release(stack, submission_id: str) -> None:
    """Emit the parked submission's ContactFormSubmitted, as submission_create would have: the
    pipeline takes it from there."""
    shell(
        stack,
        "from django.db import transaction\n"
        "from events import ContactFormSubmitted\n"
        "from intake.models import Submission\n"
        "from intake.services import event_emit\n"
        f"s = Submission.objects.get(id='{submission_id}')\n"
        "event = ContactFormSubmitted(submission_id=str(s.id))\n"
        "with transaction.atomic():\n"
        "    event_emit(event=event, correlation_id=str(s.correlation_id))\n",
    )


def stream_health(stack) -> dict:
    return requests.get(f"{stack.stream}/health", timeout=5).json()


def assert_pushed_not_polled(states: list[dict]) -> None:
    """Each state sent once: as many events as distinct states, and the timeline only grows."""
    bodies = [json.dumps(state, sort_keys=True) for state in states]
    assert len(bodies) == len(set(bodies))
    assert all(a != b for a, b in zip(bodies, bodies[1:], strict=False))
    assert [len(s["timeline"]) for s in states] == sorted(len(s["timeline"]) for s in states)


def test_a_viewer_gets_each_state_of_a_new_submission_once_until_it_completes(stack):
    created = submit(stack, email=unique_email())
    url = stream_url(stack, created["id"])
    with requests.get(url, stream=True, timeout=60, headers={"Origin": stack.frontend}) as response:
        assert response.status_code == 200
        assert response.headers["Content-Type"].startswith("text/event-stream")
        assert response.headers["Cache-Control"] == "no-cache, private"
        assert response.headers["Access-Control-Allow-Origin"] == stack.frontend
        lines = list(response.iter_lines(decode_unicode=True))
    states = [json.loads(line.removeprefix("data: ")) for line in lines if line.startswith("data: ")]
    assert lines.count("event: state") == len(states)
    assert states[-1]["status"] == "COMPLETED"
    assert states[-1]["id"] == created["id"]
    assert_pushed_not_polled(states)

    # The stream is the stream process's alone: the API (gunicorn) no longer serves it.
    assert stack.ports["stream"] != stack.ports["api"]
    assert requests.get(f"{stack.api}/api/submissions/{created['id']}/events", timeout=5).status_code == 404
    assert read_submission(stack, created["id"])["id"] == created["id"]


def test_an_unknown_submission_gets_a_json_404_from_the_stream(stack):
    response = requests.get(f"{stack.stream}/api/submissions/{uuid.uuid4()}/events", timeout=5)
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}


async def follow(session: aiohttp.ClientSession, url: str) -> list[dict]:
    """Every state one viewer receives, until the server ends the stream."""
    states = []
    async with session.get(url, headers={"Accept": "text/event-stream"}) as response:
        assert response.status == 200
        async for line in response.content:
            if line.startswith(b"data: "):
                states.append(json.loads(line[len(b"data: ") :]))
    return states


async def watch_while(stack, url: str, viewers: int, *, action) -> list[list[dict]]:
    """Open `viewers` streams of `url`, run `action` once they are all registered, return what each got."""
    connector = aiohttp.TCPConnector(limit=0)
    timeout = aiohttp.ClientTimeout(total=120)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        tasks = [asyncio.create_task(follow(session, url)) for _ in range(viewers)]
        await asyncio.to_thread(
            wait_until, lambda: stream_health(stack)["viewers"] >= viewers, 30, 0.1, f"{viewers} viewers"
        )
        await asyncio.to_thread(action)
        return await asyncio.gather(*tasks)


def test_two_hundred_viewers_of_one_submission_in_flight_all_get_its_final_state(stack):
    (submission_id,) = parked_submissions(stack, 1)
    url = stream_url(stack, submission_id)
    seen = run_async(watch_while(stack, url, 200, action=lambda: release(stack, submission_id)))

    assert len(seen) == 200
    assert all(states[0]["status"] == "RECEIVED" for states in seen)  # all watched it from the start
    assert all(states[-1]["status"] == "COMPLETED" for states in seen)
    for states in seen:
        assert_pushed_not_polled(states)
    assert wait_until(lambda: stream_health(stack)["viewers"] == 0, what="the viewers to be forgotten")


def stream_pid(stack) -> int:
    (proc,) = [proc for name, proc in stack.procs.procs if name == "stream" and proc.poll() is None]
    return proc.pid


def stream_cpu_seconds(stack) -> float:
    with open(f"/proc/{stream_pid(stack)}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


async def idle_viewers(stack, ids: list[str], seconds: float) -> tuple[float, int, int]:
    """Hold one stream per id open for `seconds`; return the stream process's CPU time meanwhile,
    the number of state events received after the first one of each stream, and its threads."""
    connector = aiohttp.TCPConnector(limit=0)
    extra = 0

    async def hold(session, submission_id):
        nonlocal extra
        async with session.get(stream_url(stack, submission_id)) as response:
            first = True
            async for line in response.content:
                if line.startswith(b"data: "):
                    extra += 0 if first else 1
                    first = False

    async with aiohttp.ClientSession(connector=connector) as session:
        tasks = [asyncio.create_task(hold(session, i)) for i in ids]
        await asyncio.to_thread(wait_until, lambda: stream_health(stack)["viewers"] >= len(ids), 30, 0.1, "viewers")
        before = stream_cpu_seconds(stack)
        await asyncio.sleep(seconds)  # the length of the measurement itself
        used = stream_cpu_seconds(stack) - before
        threads = len(os.listdir(f"/proc/{stream_pid(stack)}/task"))
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    return used, extra, threads


def test_idle_viewers_cost_the_stream_little_cpu_because_nothing_polls(stack):
    ids = parked_submissions(stack, 200)
    used, extra, threads = run_async(idle_viewers(stack, ids, 6.0))
    report_figure(
        f"stream: 200 idle viewers for 6 s used {used:.2f} s of CPU ({used / 6 * 100:.0f}% of a core), {threads} threads"
    )
    # Reading each state every 0.2 s, as the former stream did, is 1000 reads a second here: more
    # than a core. Woken by notifications, with a read every ~5 s per viewer as the fallback, it is
    # a small fraction of that.
    assert used < 0.3 * 6.0
    assert extra == 0  # nothing changed, so nothing was sent again
    assert threads < 20  # the event loop and a few reading threads, not a thread per viewer
    wait_until(lambda: stream_health(stack)["viewers"] == 0, what="the viewers to be forgotten")


def test_a_second_stream_process_shares_the_port_and_listens_before_any_request_reaches_it(stack):
    """`./deploy.sh scale stream 2`: the replicas share STREAM_PORT, and each subscribes to the wake-up
    channel as it starts. No request has to reach it first (behind a shared port, nobody chooses which
    process a request reaches), so Redis counts one more subscriber with no request made."""
    channel = "outbox:wakeup"  # config/settings/kafka.py
    client = stack.redis()
    before = client.pubsub_numsub(channel)[0][1]
    cmd = [str(BIN / "python"), "-m", "config.stream_server", "--host", "127.0.0.1"]
    env = {**stack.env, "DJANGO_SETTINGS_MODULE": "config.settings.stream"}
    stack.procs.start("stream-replica", [*cmd, "--port", str(stack.ports["stream"])], env)
    try:
        wait_until(
            lambda: client.pubsub_numsub(channel)[0][1] == before + 1,
            timeout=60,
            what="the second stream process subscribed",
        )
        # Both answer on the one port, each hearing the channel.
        assert all(requests.get(f"{stack.stream}/health", timeout=5).json()["subscribed"] for _ in range(20))
    finally:
        stack.procs.stop("stream-replica")
