"""The stream's per-client limit holds against a client that names itself another address.

The stream runs as deploy/supervisord.conf's [program:stream] runs it, on its own port, with
a limit of one live stream per client; a second stream from the same socket must be refused whatever
X-Forwarded-For it sends (uvicorn would otherwise take that header from any loopback peer).
"""

import configparser
import re

import pytest
import requests

from tests.integration.test_stream import parked_submissions
from tests.servers import BIN, REPO, free_port, http_ok, stream_url, wait_until

pytestmark = pytest.mark.integration


def supervisord_stream_options() -> list[str]:
    """The Python arguments of [program:stream] in deploy/supervisord.conf (its launcher), without
    host and port."""
    config = configparser.RawConfigParser()
    config.read(REPO / "deploy" / "supervisord.conf")
    command = config["program:stream"]["command"]
    options = command.split("/python ", 1)[1].split()
    options = [word for word in options if not re.match(r"^%\(ENV_", word)]
    options = [word for word in options if word not in ("--host", "--port")]
    assert options == ["-m", "config.stream_server"], options
    return options


@pytest.fixture
def limited_stream(stack):
    port = free_port()
    env = {**stack.env, "DJANGO_SETTINGS_MODULE": "config.settings.stream", "STREAM_MAX_PER_CLIENT": "1"}
    cmd = [str(BIN / "python"), *supervisord_stream_options(), "--host", "127.0.0.1", "--port", str(port)]
    name = f"stream-limited-{port}"
    stack.procs.start(name, cmd, env)
    url = f"http://127.0.0.1:{port}"
    wait_until(lambda: http_ok(f"{url}/health"), what="the limited stream")
    yield url
    stack.procs.stop(name)


def test_a_forged_forwarded_for_does_not_make_a_new_client(stack, limited_stream):
    [parked] = parked_submissions(stack, 1)  # stays RECEIVED: its stream stays open
    url = stream_url(stack, parked).replace(stack.stream, limited_stream)
    with requests.get(url, stream=True, timeout=10) as first:
        assert first.status_code == 200
        second = requests.get(url, headers={"X-Forwarded-For": "203.0.113.9"}, stream=True, timeout=10)
        assert second.status_code == 429, second.status_code
        second.close()
