"""Where a real terminal matters, the CLI runs under a pseudo-terminal: `logs -f` prints lines as
the task writes them and exits when the instance ends; `backfill` draws a live progress bar;
`login` asks for the SecretKey without echoing it."""

from __future__ import annotations

import json
import re
from pathlib import Path

from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException

from tests.cli.clitools import Cli, logged_in, write_task
from tests.support import ADMIN_ID, ADMIN_KEY, Api, ServerProcess, unique
from tests.waiting import wait_until

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def project_of(cli: Cli) -> str:
    return str(json.loads((cli.config_home / "wedata" / "profile.json").read_text())["project_id"])


def test_logs_follow_prints_lines_as_they_come_and_exits_when_the_instance_ends(
        server: ServerProcess, api: Api, tmp_path: Path) -> None:
    cli = logged_in(server, tmp_path / "cfg", tmp_path)
    project = project_of(cli)
    wf = cli.ok("workflows", "create", unique("wf")).strip()
    code = "echo tick 1\nsleep 2\necho tick 2\nsleep 2\necho tick 3"
    task = cli.ok("tasks", "create", "--from-file", str(write_task(tmp_path / "t.json", unique("tick"), wf,
                                                                    code=code))).strip()
    cli.ok("tasks", "submit", task)
    key = f"{task}_2025-01-01 00:00:00"
    run = cli.pty("logs", "-f", key)
    assert run.returncode == 0, run.text
    first, last = run.first_time("tick 1"), run.first_time("tick 3")
    # The lines arrived while the task ran (about 4 s apart), not all at once at the end.
    assert last - first >= 2.5, run.text
    assert run.text.index("tick 1") < run.text.index("tick 2") < run.text.index("tick 3")
    assert f"-- {key}: COMPLETED" in run.text
    assert api.data("GetTaskInstance", {"ProjectId": project, "InstanceKey": key})["InstanceState"] == "COMPLETED"
    assert "Traceback" not in run.text


def test_backfill_shows_a_live_progress_bar_until_the_plan_completes(
        server: ServerProcess, api: Api, tmp_path: Path) -> None:
    cli = logged_in(server, tmp_path / "cfg", tmp_path)
    project = project_of(cli)
    wf = cli.ok("workflows", "create", unique("wf")).strip()
    daily = {"CycleType": "DAY_CYCLE", "CrontabExpression": "0 0 0 * * ? *", "StartTime": "2025-01-01 00:00:00",
             "EndTime": "2025-12-31 23:59:59"}
    task = cli.ok("tasks", "create", "--from-file", str(write_task(tmp_path / "t.json", unique("bf"), wf,
                                                                    sched=daily, code="sleep 0.5"))).strip()
    cli.ok("tasks", "submit", task)
    run = cli.pty("backfill", task, "--from", "2025-03-01", "--to", "2025-03-05", "--order", "ORDER")
    text = ANSI.sub("", run.text)
    assert run.returncode == 0, text
    assert "━" in text and "100%" in text  # rich's bar, drawn to the end
    percents = {int(p) for p in re.findall(r"(\d+)%", text)}
    assert len(percents) >= 3, text  # redrawn as the plan moved
    assert "5 of 5 instance(s) COMPLETED" in text
    assert "\r" in run.text or "\x1b[" in run.text  # redrawn in place, as a terminal does
    items = api.data("ListTaskInstances", {"ProjectId": project, "Keyword": task, "PageSize": 100})["Items"]
    march = sorted(i["CurRunDate"] for i in items if i["CurRunDate"].startswith("2025-03"))
    assert march == [f"2025-03-0{d} 00:00:00" for d in range(1, 6)]
    assert all(i["InstanceState"] == "COMPLETED" for i in items if i["CurRunDate"].startswith("2025-03"))


def test_backfill_without_a_terminal_prints_progress_lines(server: ServerProcess, tmp_path: Path) -> None:
    cli = logged_in(server, tmp_path / "cfg", tmp_path)
    wf = cli.ok("workflows", "create", unique("wf")).strip()
    daily = {"CycleType": "DAY_CYCLE", "CrontabExpression": "0 0 0 * * ? *", "StartTime": "2025-01-01 00:00:00",
             "EndTime": "2025-12-31 23:59:59", "MaxRetryNumber": 0}
    task = cli.ok("tasks", "create", "--from-file", str(write_task(
        tmp_path / "t.json", unique("bf"), wf, sched=daily, code='[ "${yyyyMMdd}" != 20250302 ]'))).strip()
    cli.ok("tasks", "submit", task)
    res = cli.run("backfill", task, "--from", "2025-03-01", "--to", "2025-03-03")
    assert res.returncode == 1 and "Traceback" not in res.stderr
    plan = res.stdout.strip()
    assert re.fullmatch(r"[0-9a-f-]{36}", plan)
    assert "100% done" in res.stderr and "━" not in res.stderr
    assert f"1 instance(s) did not complete: {task}_2025-03-02 00:00:00 EXPIRED" in res.stderr


def test_login_prompts_for_the_secret_key_without_echoing_it(server: ServerProcess, tmp_path: Path) -> None:
    cli = Cli(tmp_path / "cfg")
    run = cli.pty("login", "--endpoint", server.endpoint, send=[("SecretId: ", ADMIN_ID), ("SecretKey: ", ADMIN_KEY)])
    assert run.returncode == 0, run.text
    assert ADMIN_ID in run.text and ADMIN_KEY not in run.text and "logged in" in run.text
    saved = json.loads((tmp_path / "cfg" / "wedata" / "profile.json").read_text())
    assert saved["secret_key"] == ADMIN_KEY


def test_run_under_a_terminal_follows_the_instance(server: ServerProcess, api: Api, tmp_path: Path) -> None:
    cli = logged_in(server, tmp_path / "cfg", tmp_path)
    project = project_of(cli)
    wf = cli.ok("workflows", "create", unique("wf")).strip()
    task = cli.ok("tasks", "create", "--from-file", str(write_task(tmp_path / "t.json", unique("r"), wf,
                                                                    code="echo once"))).strip()
    cli.ok("tasks", "submit", task)
    key = f"{task}_2025-01-01 00:00:00"

    def state() -> str | None:  # None until the engine has planned the instance
        try:
            return str(api.data("GetTaskInstance", {"ProjectId": project, "InstanceKey": key})["InstanceState"])
        except TencentCloudSDKException as exc:
            if exc.code != "ResourceNotFound":
                raise
            return None

    wait_until(state, lambda s: s == "COMPLETED", what="the one-off run")
    run = cli.pty("run", task, "--log")  # one-off: its only data time, rerun
    assert run.returncode == 0, run.text
    assert "rerunning" in run.text and "echo once" not in run.text and "once" in run.text
    assert f"{key} COMPLETED" in ANSI.sub("", run.text)
