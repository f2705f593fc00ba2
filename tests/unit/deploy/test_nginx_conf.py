"""deploy/nginx.conf.template, parsed as nginx reads it (no nginx needed), and the start-up script of
deploy/Dockerfile.frontend that prepares its variables."""

import json
import re
import shlex
import subprocess
from dataclasses import dataclass, field

import pytest

from tests.servers import REPO

TEMPLATE = (REPO / "deploy" / "nginx.conf.template").read_text()
DOCKERFILE = (REPO / "deploy" / "Dockerfile.frontend").read_text()
SECURITY_HEADERS = {
    "Content-Security-Policy",
    "X-Content-Type-Options",
    "Referrer-Policy",
    "X-Frame-Options",
    "Permissions-Policy",
    "Cross-Origin-Opener-Policy",
}
STREAM_LOCATION = ("~", "^/api/submissions/[^/]+/events$")


@dataclass
class Block:
    args: tuple[str, ...] = ()
    directives: list[tuple[str, ...]] = field(default_factory=list)
    children: list["Block"] = field(default_factory=list)

    def all(self, name: str) -> list[tuple[str, ...]]:
        return [d[1:] for d in self.directives if d[0] == name]

    def one(self, name: str) -> tuple[str, ...]:
        (found,) = self.all(name)
        return found


def parse(text: str) -> Block:
    """nginx's syntax: directives end with ';', blocks are '{ }', quotes group, '#' starts a comment."""
    tokens = re.findall(r"""'[^']*'|"[^"]*"|[{};]|#[^\n]*|[^\s{};'"#]+""", text)
    root, stack, words = Block(), [], []
    stack.append(root)
    for token in tokens:
        if token.startswith("#"):
            continue
        if token == ";":
            stack[-1].directives.append(tuple(words))
            words = []
        elif token == "{":
            block = Block(args=tuple(words))
            stack[-1].children.append(block)
            stack.append(block)
            words = []
        elif token == "}":
            stack.pop()
        else:
            words.append(token[1:-1] if token[0] in "'\"" else token)
    assert len(stack) == 1 and not words, "unbalanced braces or a directive without ';'"
    return root


CONF = parse(TEMPLATE)
(SERVER,) = [block for block in CONF.children if block.args == ("server",)]
LOCATIONS = {block.args[1:]: block for block in SERVER.children if block.args[0] == "location"}
PROXIED = {args: block for args, block in LOCATIONS.items() if block.all("proxy_pass")}


def headers(block: Block) -> dict[str, tuple[str, ...]]:
    return {args[0]: args[1:] for args in block.all("add_header")}


def test_every_security_header_is_sent_always_at_server_level():
    sent = headers(SERVER)
    assert SECURITY_HEADERS <= set(sent)
    for name in SECURITY_HEADERS:
        assert sent[name][-1] == "always", name
    assert sent["X-Content-Type-Options"][0] == "nosniff"
    assert sent["Referrer-Policy"][0] == "no-referrer"
    assert sent["X-Frame-Options"][0] == "DENY"
    assert sent["Cross-Origin-Opener-Policy"][0] == "same-origin"


def test_the_csp_allows_no_inline_script_and_connects_to_the_api_and_stream_only():
    policy = dict(
        (part.split()[0], part.split()[1:]) for part in headers(SERVER)["Content-Security-Policy"][0].split(";")
    )
    assert policy["script-src"] == ["'self'"]
    assert policy["default-src"] == policy["style-src"] == policy["base-uri"] == ["'self'"]
    assert policy["object-src"] == policy["frame-ancestors"] == ["'none'"]
    assert policy["connect-src"] == ["'self'", "${CONNECT_SRC}"]
    assert not any("unsafe" in source for sources in policy.values() for source in sources)


def test_no_location_of_ours_drops_the_security_headers():
    # A location with an add_header of its own inherits none of the server's (nginx's rule).
    for args, block in LOCATIONS.items():
        if args not in PROXIED:
            assert not block.all("add_header"), args


def test_django_s_pages_get_django_s_headers_not_the_frontend_s_csp():
    assert set(PROXIED) == {STREAM_LOCATION, ("/api/",), ("/admin/",), ("/static/",), ("=", "/health/deps")}
    for args, block in PROXIED.items():
        assert set(headers(block)) == {"Permissions-Policy"}, args


def test_the_api_and_the_stream_are_proxied_inside_the_network():
    upstreams = {args[0]: args[1] for args in SERVER.all("set")}
    assert upstreams == {"$api_upstream": "http://api:5000", "$stream_upstream": "http://stream:5001"}
    for args, block in PROXIED.items():
        assert block.one("proxy_pass") == ("$stream_upstream" if args == STREAM_LOCATION else "$api_upstream",)


def test_the_stream_is_passed_on_unbuffered_for_an_hour():
    stream = LOCATIONS[STREAM_LOCATION]
    assert stream.one("proxy_buffering") == ("off",)
    assert stream.one("proxy_read_timeout") == ("1h",)
    assert SERVER.one("proxy_http_version") == ("1.1",)


def test_the_backend_gets_the_forwarded_chain_with_our_peer_appended():
    sent = {args[0]: args[1] for args in SERVER.all("proxy_set_header")}
    assert sent == {
        "Connection": "",
        "Host": "$http_host",
        "X-Forwarded-For": "$proxy_add_x_forwarded_for",
        "X-Forwarded-Proto": "$intake_forwarded_proto",
    }


def forwarded_proto(trusted_proxies: str, header: str) -> str:
    """What the template's map gives for X-Forwarded-Proto: its regexes in order, as nginx tries them."""
    [block] = [b for b in CONF.children if b.args[:1] == ("map",) and b.args[-1] == "$intake_forwarded_proto"]
    key = block.args[1].replace("${TRUSTED_PROXIES}", trusted_proxies).replace("$http_x_forwarded_proto", header)
    for pattern, value in block.directives:
        if pattern != "default" and re.search(pattern.removeprefix("~"), key):
            return value
    return dict(block.directives)["default"]


@pytest.mark.parametrize(
    ("trusted", "header", "expected"),
    [
        ("0", "https", "$scheme"),  # nothing in front: a visitor cannot claim https
        ("0", "", "$scheme"),
        ("1", "https", "https"),  # behind the operator's TLS terminator
        ("1", "http", "http"),
        ("2", "https", "https"),
        ("1", "", "$scheme"),
        ("1", "gopher", "$scheme"),
    ],
)
def test_the_visitors_scheme_comes_from_a_trusted_proxy_only(trusted, header, expected):
    assert forwarded_proto(trusted, header) == expected
    # A location with a proxy_set_header of its own would drop all of these.
    assert not any(block.all("proxy_set_header") for block in LOCATIONS.values())


def test_source_maps_are_never_served():
    assert LOCATIONS[("~", r"\.map$")].one("return") == ("404",)
    assert "find dist -name '*.map' -delete" in DOCKERFILE


def test_the_access_log_leaves_query_strings_out():
    (name, *parts) = CONF.one("log_format")
    line = " ".join(parts)
    for variable in ("$request", "$request_uri", "$args", "$query_string", "$arg_", "$http_referer"):
        assert not re.search(re.escape(variable) + r"\b", line), variable
    assert SERVER.one("access_log")[1] == name
    # The path it logs is the requested one, cut at the "?".
    (path_map,) = [block for block in CONF.children if block.args == ("map", "$request_uri", "$intake_log_path")]
    assert "$intake_log_path" in line
    assert path_map.directives == [("~^(?<intake_path>[^?]*)", "$intake_path")]


def test_config_json_renders_as_json_with_a_boolean_demo_switch():
    config = LOCATIONS[("=", "/config.json")]
    status, body = config.one("return")
    rendered = body.replace("${API_PUBLIC_URL}", "https://intake.example.org").replace(
        "${STREAM_PUBLIC_URL}", "https://intake.example.org"
    )
    assert status == "200"
    for switch in (True, False):
        assert json.loads(rendered.replace("${DEMO_CONTROLS}", json.dumps(switch))) == {
            "apiBase": "https://intake.example.org",
            "streamBase": "https://intake.example.org",
            "demoControls": switch,
        }


def test_envsubst_touches_only_our_variables_and_they_cannot_collide_with_nginx_s():
    allowed = set(re.search(r'NGINX_ENVSUBST_FILTER="\^\(([A-Z_|]+)\)\\\$"', DOCKERFILE).group(1).split("|"))
    assert allowed == {"API_PUBLIC_URL", "STREAM_PUBLIC_URL", "DEMO_CONTROLS", "CONNECT_SRC", "TRUSTED_PROXIES"}
    variables = set(re.findall(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)", re.sub(r"#[^\n]*", "", TEMPLATE)))
    ours = {name for name in variables if name.isupper()}
    assert ours == allowed
    assert all(name.islower() for name in variables - ours)  # nginx's own: never an environment name


def _startup_script() -> str:
    return re.search(r"<<'EOF' /docker-entrypoint\.d/\S+\.envsh\n(.*?)\nEOF\n", DOCKERFILE, re.S).group(1)


def test_the_startup_script_is_sourced_before_the_template_is_rendered():
    name = re.search(r"<<'EOF' /docker-entrypoint\.d/(\S+)\.envsh", DOCKERFILE).group(1)
    assert re.fullmatch(r"1\d-[a-z-]+", name)  # the image renders templates in 20-envsubst-on-templates.sh


@pytest.mark.parametrize(
    ("demo", "expected"),
    [("true", "true"), ("TRUE", "true"), ("1", "true"), ("yes", "true"), ("On", "true")]
    + [("false", "false"), ("0", "false"), ("", "false"), ("maybe", "false")],
)
def test_demo_controls_become_a_json_boolean(demo, expected, tmp_path):
    assert _prepared(tmp_path, DEMO_CONTROLS=demo)["DEMO_CONTROLS"] == expected


def test_addresses_lose_a_trailing_slash_and_the_csp_gets_their_origins(tmp_path):
    prepared = _prepared(
        tmp_path, API_PUBLIC_URL="https://intake.example.org/app/", STREAM_PUBLIC_URL="http://localhost:3000/"
    )
    assert prepared["API_PUBLIC_URL"] == "https://intake.example.org/app"
    assert prepared["STREAM_PUBLIC_URL"] == "http://localhost:3000"
    assert prepared["CONNECT_SRC"] == "http://localhost:3000 https://intake.example.org"
    same = _prepared(tmp_path, API_PUBLIC_URL="http://localhost:3000", STREAM_PUBLIC_URL="http://localhost:3000")
    assert same["CONNECT_SRC"] == "http://localhost:3000"


@pytest.mark.parametrize(("given", "expected"), [("2", "2"), ("0", "0"), ("", "0"), ("1;", "0"), ("x", "0")])
def test_trusted_proxies_become_a_number_for_the_map(given, expected, tmp_path):
    assert _prepared(tmp_path, TRUSTED_PROXIES=given)["TRUSTED_PROXIES"] == expected


def _prepared(tmp_path, **env: str) -> dict[str, str]:
    script = tmp_path / "config.envsh"
    script.write_text(_startup_script())
    names = ("DEMO_CONTROLS", "API_PUBLIC_URL", "STREAM_PUBLIC_URL", "CONNECT_SRC", "TRUSTED_PROXIES")
    printed = " ".join(f'"${name}"' for name in names)
    defaults = {"API_PUBLIC_URL": "http://localhost:3000", "STREAM_PUBLIC_URL": "http://localhost:3000"}
    result = subprocess.run(
        ["sh", "-ec", f". {shlex.quote(str(script))}; printf '%s\\n' {printed}"],
        env={"PATH": "/usr/bin:/bin", **defaults, **env},
        capture_output=True,
        text=True,
        check=True,
    )
    return dict(zip(names, result.stdout.split("\n"), strict=False))
