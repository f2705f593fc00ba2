"""`logs` of the ops CLI: which files it reads, how a search merges them by time stamp, what it says
when there is nothing to show, and the `tail` and `docker compose logs` commands it runs."""

import json
import sys
from pathlib import Path

import pytest
from ops.console import Failure
from ops.logs import LogOptions, compose_logs, local_logs, log_files, matching_lines, sort_field, stream_matches

COMPOSE = ["docker", "compose", "--env-file", ".env"]


def write_logs(log_dir: Path, logs: dict[str, str]) -> Path:
    log_dir.mkdir(parents=True, exist_ok=True)
    for name, text in logs.items():
        (log_dir / f"{name}.log").write_text(text)
    return log_dir


def names(files: list[Path]) -> list[str]:
    return [file.name for file in files]


def fake_command(tmp_path: Path, monkeypatch, name: str, output: str) -> Path:
    """`name` on PATH as a script that records its arguments (one JSON list a line, in the file it
    returns) and prints `output`."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    calls = tmp_path / f"{name}.calls"
    canned = tmp_path / f"{name}.out"
    canned.write_text(output)
    script = bin_dir / name
    script.write_text(
        f"#!{sys.executable}\n"
        "import json, sys\n"
        f"with open({str(calls)!r}, 'a') as calls:\n"
        "    calls.write(json.dumps(sys.argv[1:]) + '\\n')\n"
        f"sys.stdout.write(open({str(canned)!r}).read())\n"
    )
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
    return calls


def calls_of(calls: Path) -> list[list[str]]:
    return [json.loads(line) for line in calls.read_text().splitlines()] if calls.exists() else []


# --- which files ---------------------------------------------------------------------------------


@pytest.fixture
def log_dir(tmp_path) -> Path:
    return write_logs(
        tmp_path / "logs",
        {
            "api": "",
            "api-gateway": "",
            "mailer-0": "",
            "mailer-1": "",
            "mailer": "",
            "workflow-agent-0": "",
            "workflow-agent-10": "",
            "crm-1": "",
            "kafka": "",
        },
    )


def test_without_a_service_every_log_file_is_read_in_name_order(log_dir):
    (log_dir / "notes.txt").write_text("not a log")
    assert names(log_files(log_dir, None)) == [
        "api-gateway.log",
        "api.log",
        "crm-1.log",
        "kafka.log",
        "mailer-0.log",
        "mailer-1.log",
        "mailer.log",
        "workflow-agent-0.log",
        "workflow-agent-10.log",
    ]


def test_a_service_is_its_own_file_and_not_one_whose_name_only_starts_like_it(log_dir):
    assert names(log_files(log_dir, "api")) == ["api.log"]
    assert names(log_files(log_dir, "kafka")) == ["kafka.log"]


def test_a_scalable_service_is_the_files_of_its_processes(log_dir):
    assert names(log_files(log_dir, "mailer")) == ["mailer-0.log", "mailer-1.log", "mailer.log"]
    assert names(log_files(log_dir, "workflow-agent")) == ["workflow-agent-0.log", "workflow-agent-10.log"]


def test_numbered_files_belong_to_a_service_only_when_it_is_scalable(log_dir):
    assert names(log_files(log_dir, "crm")) == []


def test_an_instance_is_its_one_file(log_dir):
    assert names(log_files(log_dir, "mailer-1")) == ["mailer-1.log"]
    assert names(log_files(log_dir, "workflow-agent-1")) == []


# --- a search ------------------------------------------------------------------------------------


def test_matching_lines_are_merged_across_files_by_their_time_stamps(tmp_path):
    log_dir = write_logs(
        tmp_path,
        {
            "api": (
                '{"time": "2026-10-10T13:55:37.200", "msg": "accepted", "correlation_id": "c-1"}\n'
                '{"time": "2026-10-10T13:55:39.000", "msg": "other", "correlation_id": "c-2"}\n'
            ),
            "mailer-0": ("2026-10-10 13:55:38,100 INFO sent c-1\n2026-10-10 13:55:36,900 INFO queued c-1\n"),
            "frontend": '127.0.0.1 - - [10/Oct/2026:13:55:37 +0000] "POST /api/submissions?c-1 HTTP/1.1" 201\n',
        },
    )
    assert matching_lines(log_files(log_dir, None), "c-1") == [
        "mailer-0 | 2026-10-10 13:55:36,900 INFO queued c-1",
        'frontend | 127.0.0.1 - - [10/Oct/2026:13:55:37 +0000] "POST /api/submissions?c-1 HTTP/1.1" 201',
        'api | {"time": "2026-10-10T13:55:37.200", "msg": "accepted", "correlation_id": "c-1"}',
        "mailer-0 | 2026-10-10 13:55:38,100 INFO sent c-1",
    ]


def test_a_line_without_a_stamp_sorts_with_the_stamped_line_before_it_in_its_file(tmp_path):
    log_dir = write_logs(
        tmp_path,
        {
            "mailer-0": (
                "2026-10-10 13:00:03 ERROR failed c-1\n"
                "Traceback (most recent call last): c-1\n"
                '  File "mailer.py", line 3: c-1\n'
            ),
            "mailer-1": "2026-10-10 13:00:02 INFO retry c-1\n2026-10-10 13:00:04 INFO sent c-1\n",
            "relay": "no stamp before this line c-1\n2026-10-10 13:00:01 INFO relayed c-1\n",
        },
    )
    assert matching_lines(log_files(log_dir, None), "c-1") == [
        "relay | no stamp before this line c-1",
        "relay | 2026-10-10 13:00:01 INFO relayed c-1",
        "mailer-1 | 2026-10-10 13:00:02 INFO retry c-1",
        "mailer-0 | 2026-10-10 13:00:03 ERROR failed c-1",
        "mailer-0 | Traceback (most recent call last): c-1",
        'mailer-0 |   File "mailer.py", line 3: c-1',
        "mailer-1 | 2026-10-10 13:00:04 INFO sent c-1",
    ]


def test_lines_with_the_same_stamp_keep_the_order_of_files_and_lines(tmp_path):
    log_dir = write_logs(
        tmp_path,
        {"a": "2026-10-10 13:00:00 first x\n2026-10-10 13:00:00 second x\n", "b": "2026-10-10 13:00:00 third x\n"},
    )
    assert matching_lines(log_files(log_dir, None), "x") == [
        "a | 2026-10-10 13:00:00 first x",
        "a | 2026-10-10 13:00:00 second x",
        "b | 2026-10-10 13:00:00 third x",
    ]


def test_a_search_prints_the_matches_of_the_service_and_ends(tmp_path, capsys):
    log_dir = write_logs(
        tmp_path,
        {
            "mailer-0": "2026-10-10 13:00:02 sent c-1\n2026-10-10 13:00:03 sent c-2\n",
            "mailer-1": "2026-10-10 13:00:01 queued c-1\n",
            "api": "2026-10-10 13:00:00 accepted c-1\n",
        },
    )
    assert local_logs(log_dir, LogOptions(service="mailer", filter="c-1")) == 0
    out, err = capsys.readouterr()
    assert out == "mailer-1 | 2026-10-10 13:00:01 queued c-1\nmailer-0 | 2026-10-10 13:00:02 sent c-1\n"
    assert err == ""


def test_a_search_that_finds_nothing_says_so_and_fails(tmp_path, capsys):
    log_dir = write_logs(tmp_path, {"api": "2026-10-10 13:00:00 accepted c-1\n"})
    assert local_logs(log_dir, LogOptions(filter="c-404")) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err == "no log line contains 'c-404'\n"


# --- nothing to show -----------------------------------------------------------------------------


def test_an_unknown_service_is_refused_with_the_known_ones(tmp_path):
    log_dir = write_logs(tmp_path, {"api": "x\n"})
    with pytest.raises(Failure) as failure:
        local_logs(log_dir, LogOptions(service="nginx"))
    assert failure.value.message.startswith("unknown service 'nginx' (one of: kafka redis smtp prometheus crm api ")


def test_an_instance_is_accepted_without_the_check_and_fails_only_for_lack_of_logs(tmp_path):
    log_dir = write_logs(tmp_path, {"api": "x\n"})
    with pytest.raises(Failure) as failure:
        local_logs(log_dir, LogOptions(service="mailer-3"))
    assert failure.value.message == f"no logs of mailer-3 yet in {log_dir} (./deploy.sh start first)"


def test_no_log_files_is_a_failure_that_says_to_start_first(tmp_path):
    log_dir = tmp_path / "logs"
    log_dir.mkdir()
    with pytest.raises(Failure) as without_service:
        local_logs(log_dir, LogOptions(filter="c-1"))
    with pytest.raises(Failure) as with_service:
        local_logs(log_dir, LogOptions(service="api"))
    assert without_service.value.message == f"no logs yet in {log_dir} (./deploy.sh start first)"
    assert with_service.value.message == f"no logs of api yet in {log_dir} (./deploy.sh start first)"


# --- showing and following -----------------------------------------------------------------------


def test_without_a_filter_tail_shows_the_last_lines_under_each_file_header(tmp_path, capfd):
    lines = "".join(f"line {n}\n" for n in range(250))
    log_dir = write_logs(tmp_path, {"mailer-0": lines, "mailer-1": "only line\n", "api": "api line\n"})
    assert local_logs(log_dir, LogOptions(service="mailer", follow=False)) == 0
    out = capfd.readouterr().out
    assert out.startswith(f"==> {log_dir / 'mailer-0.log'} <==\nline 50\n")
    assert f"line 249\n\n==> {log_dir / 'mailer-1.log'} <==\nonly line\n" in out
    assert "line 49\n" not in out and "api line" not in out


def test_off_a_terminal_the_logs_are_shown_not_followed(tmp_path, monkeypatch, capsys):
    calls = fake_command(tmp_path, monkeypatch, "tail", "")
    log_dir = write_logs(tmp_path / "logs", {"api": "x\n"})
    assert local_logs(log_dir, LogOptions()) == 0
    assert calls_of(calls) == [["-n", "200", str(log_dir / "api.log")]]


def test_on_a_terminal_the_logs_are_followed(tmp_path, monkeypatch, capsys):
    calls = fake_command(tmp_path, monkeypatch, "tail", "")
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    log_dir = write_logs(tmp_path / "logs", {"api": "x\n"})
    assert local_logs(log_dir, LogOptions()) == 0
    assert calls_of(calls) == [["-n", "50", "-F", str(log_dir / "api.log")]]


def test_a_search_on_a_terminal_ends_unless_asked_to_follow(tmp_path, monkeypatch, capsys):
    calls = fake_command(tmp_path, monkeypatch, "tail", "")
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    log_dir = write_logs(tmp_path / "logs", {"api": "c-1\n"})
    assert local_logs(log_dir, LogOptions(filter="c-1")) == 0
    assert calls_of(calls) == []
    assert capsys.readouterr().out == "api | c-1\n"


def test_a_followed_stream_keeps_the_matching_lines_after_their_process_name():
    stream = [
        "2026-10-10 13:00:01 queued c-1\n",
        "2026-10-10 13:00:01 queued c-2\n",
        "\n",
        "==> /run/logs/mailer-1.log <==\n",
        "2026-10-10 13:00:02 sent c-1\n",
        "\n",
        "==> /run/logs/api.log <==\n",
        "2026-10-10 13:00:03 ==> not a header c-1 <==\n",
    ]
    assert list(stream_matches(stream, "c-1", "mailer-0")) == [
        "mailer-0 | 2026-10-10 13:00:01 queued c-1",
        "mailer-1 | 2026-10-10 13:00:02 sent c-1",
        "api | 2026-10-10 13:00:03 ==> not a header c-1 <==",
    ]


def test_a_followed_search_prints_what_it_found_then_the_new_matches(tmp_path, monkeypatch, capsys):
    log_dir = write_logs(tmp_path / "logs", {"mailer-0": "old c-1\n", "mailer-1": "old c-2\n"})
    calls = fake_command(tmp_path, monkeypatch, "tail", f"==> {log_dir / 'mailer-1.log'} <==\nnew c-1\nnew c-2\n")
    assert local_logs(log_dir, LogOptions(follow=True, filter="c-1")) == 0
    assert capsys.readouterr().out == "mailer-0 | old c-1\nmailer-1 | new c-1\n"
    assert calls_of(calls) == [["-n", "0", "-F", str(log_dir / "mailer-0.log"), str(log_dir / "mailer-1.log")]]


# --- Docker Compose ------------------------------------------------------------------------------


def test_compose_shows_or_follows_the_last_lines(tmp_path, monkeypatch, capfd):
    calls = fake_command(tmp_path, monkeypatch, "docker", "api-1  | hello\n")
    assert compose_logs(COMPOSE, LogOptions(follow=False)) == 0
    assert compose_logs(COMPOSE, LogOptions(service="mailer", follow=True)) == 0
    assert calls_of(calls) == [
        [*COMPOSE[1:], "logs", "--tail", "200"],
        [*COMPOSE[1:], "logs", "-f", "--tail", "50", "mailer"],
    ]
    assert capfd.readouterr().out == "api-1  | hello\napi-1  | hello\n"


COMPOSE_OUTPUT = (
    "mailer-2        | 2026-10-10T13:00:03.000000000Z sent c-1\n"
    "api-1           | 2026-10-10T13:00:01.000000000Z accepted c-1\n"
    "workflow-agent-1 | 2026-10-10T13:00:02.000000000Z lead c-2\n"
    "mailer-1        | 2026-10-10T13:00:02.000000000Z queued c-1\n"
    "relay-1         | 2026-10-10T13:00:02.000000000Z relayed c-1\n"
)


def test_a_compose_search_sorts_the_matches_by_their_time_stamp(tmp_path, monkeypatch, capsys):
    calls = fake_command(tmp_path, monkeypatch, "docker", COMPOSE_OUTPUT)
    assert compose_logs(COMPOSE, LogOptions(service="mailer", filter="c-1")) == 0
    assert calls_of(calls) == [[*COMPOSE[1:], "logs", "--no-color", "--timestamps", "mailer"]]
    assert capsys.readouterr().out == (
        "api-1           | 2026-10-10T13:00:01.000000000Z accepted c-1\n"
        "mailer-1        | 2026-10-10T13:00:02.000000000Z queued c-1\n"
        "relay-1         | 2026-10-10T13:00:02.000000000Z relayed c-1\n"
        "mailer-2        | 2026-10-10T13:00:03.000000000Z sent c-1\n"
    )


def test_a_compose_search_that_finds_nothing_still_ends_well(tmp_path, monkeypatch, capsys):
    fake_command(tmp_path, monkeypatch, "docker", COMPOSE_OUTPUT)
    assert compose_logs(COMPOSE, LogOptions(filter="c-404")) == 0
    assert capsys.readouterr() == ("", "")


def test_a_followed_compose_search_goes_on_with_the_new_matching_lines(tmp_path, monkeypatch, capsys):
    calls = fake_command(tmp_path, monkeypatch, "docker", COMPOSE_OUTPUT)
    assert compose_logs(COMPOSE, LogOptions(follow=True, filter="c-2")) == 0
    assert calls_of(calls) == [
        [*COMPOSE[1:], "logs", "--no-color", "--timestamps"],
        [*COMPOSE[1:], "logs", "-f", "--no-color", "--timestamps", "--tail", "0"],
    ]
    line = "workflow-agent-1 | 2026-10-10T13:00:02.000000000Z lead c-2\n"
    assert capsys.readouterr().out == line + line


def test_the_compose_sort_key_is_the_third_blank_separated_field_with_its_blanks():
    assert sort_field("api-1   |  2026-10-10T13:00:01Z hi") == "  2026-10-10T13:00:01Z"
    assert sort_field("\tapi-1 | x") == " x"
    assert sort_field("api-1 |") == ""
