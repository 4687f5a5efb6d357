"""Bad input to the CLI: a missing or unreachable server, wrong credentials, unknown ids, bad JSON.
Each exits non-zero with one line (`Error: ...`) and no traceback; `--debug` shows the traceback
of an unexpected failure."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli.clitools import Cli, logged_in
from tests.support import ADMIN_ID, ADMIN_KEY, ServerProcess, free_port


def test_without_a_profile_every_server_command_says_to_log_in(tmp_path: Path) -> None:
    cli = Cli(tmp_path / "cfg")
    for args in (["projects", "list"], ["tasks", "list"], ["logs", "1_2025-01-01 00:00:00"], ["run", "x"],
                 ["backfill", "x", "--from", "2025-01-01", "--to", "2025-01-02"], ["alarms", "list"]):
        line = cli.fails(*args)
        assert "no server configured" in line and "wedata login" in line, args
    assert not (tmp_path / "cfg").exists()


def test_an_unreachable_server(tmp_path: Path) -> None:
    cli = Cli(tmp_path / "cfg")
    endpoint = f"127.0.0.1:{free_port()}"
    line = cli.fails("login", "--endpoint", endpoint, "--secret-id", ADMIN_ID, "--secret-key", ADMIN_KEY)
    assert f"cannot reach the wedata server at http://{endpoint}" in line
    assert not (tmp_path / "cfg").exists()  # nothing saved
    env = {"WEDATA_ENDPOINT": endpoint, "WEDATA_SECRET_ID": ADMIN_ID, "WEDATA_SECRET_KEY": ADMIN_KEY}
    assert "cannot reach" in cli.fails("projects", "list", env=env)
    assert "must be http:// or https://" in cli.fails("projects", "list", env={**env, "WEDATA_ENDPOINT": "ftp://x"})


def test_something_that_is_not_a_wedata_server(tmp_path: Path) -> None:
    import http.server
    import threading

    httpd = http.server.HTTPServer(("127.0.0.1", 0), http.server.SimpleHTTPRequestHandler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        env = {"WEDATA_ENDPOINT": f"127.0.0.1:{httpd.server_port}", "WEDATA_SECRET_ID": ADMIN_ID,
               "WEDATA_SECRET_KEY": ADMIN_KEY}
        line = Cli(tmp_path / "cfg").fails("projects", "list", env=env)
        assert "did not answer like a wedata server" in line
    finally:
        httpd.shutdown()


def test_wrong_credentials(server: ServerProcess, tmp_path: Path) -> None:
    cli = Cli(tmp_path / "cfg")
    line = cli.fails("login", "--endpoint", server.endpoint, "--secret-id", ADMIN_ID, "--secret-key", "nope")
    assert line.startswith("Error: AuthFailure.SignatureFailure:") and "wedata login" in line
    line = cli.fails("login", "--endpoint", server.endpoint, "--secret-id", "AKIDUNKNOWN", "--secret-key", "nope")
    assert line.startswith("Error: AuthFailure.SecretIdNotFound:")
    assert not (tmp_path / "cfg").exists()
    # --no-verify saves it; the next command says what is wrong.
    cli.ok("login", "--endpoint", server.endpoint, "--secret-id", ADMIN_ID, "--secret-key", "nope", "--no-verify")
    assert "AuthFailure.SignatureFailure" in cli.fails("projects", "list")


@pytest.fixture
def cli(server: ServerProcess, tmp_path: Path) -> Cli:
    return logged_in(server, tmp_path / "cfg", tmp_path)


def test_unknown_ids_and_bad_values(cli: Cli, tmp_path: Path) -> None:
    cases = [
        (["tasks", "show", "12345678901234567"], "ResourceNotFound: The task 12345678901234567 does not exist"),
        (["tasks", "show", "no-such-task"], "ResourceNotFound: no task is named 'no-such-task'"),
        (["tasks", "submit", "12345678901234567"], "ResourceNotFound"),
        (["tasks", "pause", "12345678901234567"], "ResourceNotFound"),
        (["run", "12345678901234567"], "ResourceNotFound"),
        (["workflows", "show", "00000000-0000-0000-0000-000000000000"], "ResourceNotFound"),
        (["workflows", "show", "no-such-flow"], "no workflow is named 'no-such-flow'"),
        (["logs", "12345678901234567_2025-01-01 00:00:00"], "ResourceNotFound: The task instance"),
        (["logs", "garbage"], "InvalidParameterValue"),
        (["instances", "show", "garbage"], "InvalidParameterValue"),
        (["rerun", "12345678901234567_2025-01-01 00:00:00"], "ResourceNotFound"),
        (["kill", "12345678901234567_2025-01-01 00:00:00"], "ResourceNotFound"),
        (["set-success", "12345678901234567_2025-01-01 00:00:00"], "ResourceNotFound"),
        (["backfill", "12345678901234567", "--from", "2025-01-01", "--to", "2025-01-02"], "ResourceNotFound"),
        (["projects", "use", "999"], "ResourceNotFound: The project 999 does not exist"),
        (["projects", "use", "no-such-project"], "no project is named"),
        (["tasks", "list", "--project", "999"], "ResourceNotFound"),
    ]
    for args, expected in cases:
        line = cli.fails(*args)
        assert expected in line, (args, line)


def test_bad_json_and_bad_files(cli: Cli, tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"TaskBaseAttribute": ')
    line = cli.fails("tasks", "create", "--from-file", str(bad))
    assert "bad.json is not valid JSON" in line
    lst = tmp_path / "list.json"
    lst.write_text("[]")
    assert "must hold a JSON object" in cli.fails("tasks", "create", "--from-file", str(lst))
    assert "No such file" in cli.fails("tasks", "create", "--from-file", str(tmp_path / "missing.json"))
    wrong = tmp_path / "wrong.json"
    wrong.write_text(json.dumps({"TaskBaseAttribute": {"TaskName": "x"}, "Bogus": 1}))
    line = cli.fails("tasks", "create", "--from-file", str(wrong))
    assert "UnknownParameter" in line or "MissingParameter" in line
    # A broken profile is named, not a traceback.
    (cli.config_home / "wedata" / "profile.json").write_text("{oops")
    assert "profile.json is not valid JSON" in cli.fails("projects", "list")


def test_usage_errors_exit_2_and_name_the_option(cli: Cli) -> None:
    res = cli.run("instances", "list", "--state", "sleepy")
    assert res.returncode == 2 and "--state" in res.stderr and "Traceback" not in res.stderr
    res = cli.run("instances", "list", "--since", "yesterday")
    assert res.returncode == 2 and "--since" in res.stderr
    res = cli.run("backfill", "1", "--from", "2025-13-01", "--to", "2025-01-02")
    assert res.returncode == 2 and "--from" in res.stderr
    res = cli.run("run", "1", "--date", "soon")
    assert res.returncode == 2 and "--date" in res.stderr


def test_debug_shows_the_traceback_of_an_unexpected_error(tmp_path: Path) -> None:
    import http.server
    import threading

    class NoData(http.server.BaseHTTPRequestHandler):
        """Answers every call with an envelope that has no Data: nothing the CLI expects."""

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            body = b'{"Response": {"RequestId": "r"}}'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    httpd = http.server.HTTPServer(("127.0.0.1", 0), NoData)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        cli = Cli(tmp_path / "cfg")
        env = {"WEDATA_ENDPOINT": f"127.0.0.1:{httpd.server_port}", "WEDATA_SECRET_ID": ADMIN_ID,
               "WEDATA_SECRET_KEY": ADMIN_KEY}
        quiet = cli.run("projects", "list", env=env)
        assert quiet.returncode == 1 and "Traceback" not in quiet.stderr
        assert len(quiet.stderr.strip().splitlines()) == 1 and "--debug" in quiet.stderr
        for loud in (cli.run("--debug", "projects", "list", env=env),
                     cli.run("projects", "list", env={**env, "WEDATA_DEBUG": "1"})):
            assert loud.returncode == 1 and "Traceback" in loud.stderr
    finally:
        httpd.shutdown()
