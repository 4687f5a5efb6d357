"""The `wedata` commands that talk to a live server (SQLite and PostgreSQL), run as subprocesses
with their own profile: login, projects, workflows (the DAG tree), tasks (create, show, edit,
submit, pause, resume), run, instances, rerun, kill, set-success, alarms. Every listing's
`-o json` parses and agrees with the SDK."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException

from tests.cli.clitools import Cli, logged_in, write_task
from tests.support import ADMIN_ID, ADMIN_KEY, Api, ServerProcess, unique
from tests.waiting import wait_until


@pytest.fixture
def cli(server: ServerProcess, tmp_path: Path) -> Cli:
    return logged_in(server, tmp_path / "config", tmp_path)


def current_project(cli: Cli) -> str:
    data = json.loads((cli.config_home / "wedata" / "profile.json").read_text())
    return str(data["project_id"])


def new_workflow(cli: Cli) -> str:
    return cli.ok("workflows", "create", unique("wf")).strip()


def states(api: Api, project: str, task: str) -> list[str]:
    items = api.data("ListTaskInstances", {"ProjectId": project, "Keyword": task, "PageSize": 100})["Items"]
    return [i["InstanceState"] for i in items]


def wait_state(api: Api, project: str, key: str, wanted: set[str]) -> dict[str, object]:
    """Wait for the instance to reach a wanted state. A task just submitted is planned by the
    engine's next iteration, a moment after SubmitTask answers: until then its instance is not
    found (seen on a loaded machine), which is "not yet" here."""

    def observe() -> dict[str, object]:
        try:
            return dict(api.data("GetTaskInstance", {"ProjectId": project, "InstanceKey": key}))
        except TencentCloudSDKException as exc:
            if exc.get_code() != "ResourceNotFound":
                raise
            return {"InstanceState": "(not planned yet)"}

    return wait_until(observe, lambda d: d["InstanceState"] in wanted, what=f"{key} in {wanted}",
                      progress=lambda d: d["InstanceState"])


def test_login_saves_a_private_profile_and_logout_removes_it(server: ServerProcess, tmp_path: Path) -> None:
    cli = Cli(tmp_path / "cfg")
    out = cli.ok("login", "--endpoint", server.endpoint, "--secret-id", ADMIN_ID, "--secret-key", ADMIN_KEY)
    path = tmp_path / "cfg" / "wedata" / "profile.json"
    assert str(path) in out and f"http://{server.endpoint}" in out
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    saved = json.loads(path.read_text())
    assert saved == {"endpoint": f"http://{server.endpoint}", "secret_id": ADMIN_ID, "secret_key": ADMIN_KEY}
    assert isinstance(cli.json("projects", "list"), list)
    assert "logged out" in cli.ok("logout") and not path.exists()
    assert "no server configured" in cli.fails("projects", "list")


def test_the_environment_wins_over_the_profile(server: ServerProcess, tmp_path: Path) -> None:
    cli = Cli(tmp_path / "cfg")
    # No profile at all: the variables alone are enough (the SDK's names too).
    for id_var, key_var in (("WEDATA_SECRET_ID", "WEDATA_SECRET_KEY"),
                            ("TENCENTCLOUD_SECRET_ID", "TENCENTCLOUD_SECRET_KEY")):
        env = {"WEDATA_ENDPOINT": server.endpoint, id_var: ADMIN_ID, key_var: ADMIN_KEY}
        assert isinstance(cli.json("projects", "list", env=env), list)
    assert not (tmp_path / "cfg").exists()
    cli.ok("login", "--endpoint", server.endpoint, "--secret-id", ADMIN_ID, "--secret-key", ADMIN_KEY)
    line = cli.fails("projects", "list", env={"WEDATA_SECRET_KEY": "wrong", "WEDATA_SECRET_ID": ADMIN_ID})
    assert line.startswith("Error: AuthFailure.SignatureFailure")


def test_a_user_credential_sees_only_its_projects(server: ServerProcess, tmp_path: Path) -> None:
    """The CLI signs as the credential: permissions apply as through the SDK."""
    admin = logged_in(server, tmp_path / "admin")
    project = current_project(admin)
    user = server.new_user()
    cli = Cli(tmp_path / "user")
    cli.ok("login", "--endpoint", server.endpoint, "--secret-id", user.secret_id, "--secret-key", user.secret_key)
    line = cli.fails("workflows", "list", "--project", project)
    assert "UnauthorizedOperation" in line


def test_projects_list_use_and_show(cli: Cli, api: Api) -> None:
    project = current_project(cli)
    listed = cli.json("projects", "list", "--limit", "1000")
    sdk = {p["ProjectId"] for p in api.data("ListProjects", {"PageSize": 100})["Items"]}
    assert project in {p["ProjectId"] for p in listed} and sdk <= {p["ProjectId"] for p in listed}
    table = cli.ok("projects", "list", "--limit", "1000")
    assert any(line.lstrip().startswith("*") and project in line for line in table.splitlines())
    assert "CREATED (UTC" in table  # the zone is named
    name = next(p["ProjectName"] for p in listed if p["ProjectId"] == project)
    other = api.data("CreateProject", {"Project": {"ProjectName": unique("other"), "DisplayName": "o"}})["ProjectId"]
    cli.ok("projects", "use", other)
    assert current_project(cli) == other
    cli.ok("projects", "use", name)  # by name
    assert current_project(cli) == project
    assert cli.json("projects", "show")["ProjectId"] == project


def test_workflow_show_draws_the_dag_from_task_dependencies(cli: Cli, tmp_path: Path) -> None:
    wf = new_workflow(cli)
    ids: dict[str, str] = {}
    daily = {"CycleType": "DAY_CYCLE", "CrontabExpression": "0 0 0 * * ? *", "StartTime": "2025-01-01 00:00:00"}
    for name, ups in (("extract", []), ("transform", ["extract"]), ("load_a", ["transform"]),
                      ("load_b", ["transform"]), ("report", ["load_a", "load_b"])):
        deps = [{"TaskId": ids[u], "MainCyclicConfig": "DAY", "SubordinateCyclicConfig": "CURRENT_DAY"} for u in ups]
        path = write_task(tmp_path / f"{name}.json", name, wf, sched={**daily, "UpstreamDependencyConfigList": deps})
        ids[name] = cli.ok("tasks", "create", "--from-file", str(path)).strip()
    tree = cli.ok("workflows", "show", wf).splitlines()
    body = tree[1:]
    names = [line.split("  [")[0].replace("│", " ").replace("├── ", "").replace("└── ", "").rstrip() for line in body]
    assert [n.strip() for n in names] == ["extract", "transform", "load_a", "report", "load_b", "report"]
    depth = [len(n) - len(n.lstrip()) for n in names]
    assert depth == [0, 4, 8, 12, 8, 12]
    assert body[-1].endswith("(see above)") and "(see above)" not in body[3]
    data = cli.json("workflows", "show", wf)
    assert {t["TaskName"]: sorted(t["UpstreamTaskIds"]) for t in data["Tasks"]}["report"] == sorted(
        [ids["load_a"], ids["load_b"]])
    listed = cli.json("workflows", "list")
    assert wf in {w["WorkflowId"] for w in listed}


def test_tasks_create_show_edit_submit_list(cli: Cli, api: Api, tmp_path: Path) -> None:
    project, wf = current_project(cli), new_workflow(cli)
    name = unique("edit")
    body = write_task(tmp_path / "t.json", name, wf, sched={
        "CycleType": "DAY_CYCLE", "CrontabExpression": "0 0 3 * * ? *", "StartTime": "2030-01-01 00:00:00"})
    code = tmp_path / "code.sh"
    code.write_text("echo original code\n")
    task = cli.ok("tasks", "create", "--from-file", str(body), "--code", str(code)).strip()
    shown = cli.ok("tasks", "show", name)
    assert task in shown and "echo original code" in shown and "0 0 3 * * ? *" in shown
    # $EDITOR gets UpdateTask's Task shape with the code as plain text; the edit is sent back.
    editor = tmp_path / "editor.py"
    editor.write_text("import json, sys\np = sys.argv[1]\nd = json.load(open(p))\n"
                      "assert d['TaskConfiguration']['CodeContent'] == 'echo original code\\n', d\n"
                      "assert set(d) == {'TaskBaseAttribute', 'TaskConfiguration', 'TaskSchedulerConfiguration'}\n"
                      "d['TaskConfiguration']['CodeContent'] = 'echo edited code\\n'\n"
                      "d['TaskSchedulerConfiguration']['CrontabExpression'] = '0 30 4 * * ? *'\n"
                      "json.dump(d, open(p, 'w'))\n")
    import sys

    out = cli.ok("tasks", "edit", task, env={"EDITOR": f"{sys.executable} {editor}"})
    assert "updated task" in out
    got = api.data("GetTask", {"ProjectId": project, "TaskId": task})
    import base64

    assert base64.b64decode(got["TaskConfiguration"]["CodeContent"]).decode() == "echo edited code\n"
    assert got["TaskSchedulerConfiguration"]["CrontabExpression"] == "0 30 4 * * ? *"
    # Saving without a change sends nothing; broken JSON is kept, not sent.
    version = got["TaskBaseAttribute"]["TaskLatestVersionNo"]
    res = cli.run("tasks", "edit", task, env={"EDITOR": "true"})
    assert res.returncode == 0 and "no changes" in res.stderr
    line = cli.fails("tasks", "edit", task, env={"EDITOR": f"{sys.executable} -c \"import sys; open(sys.argv[1], 'a').write('{{')\""})
    assert "not valid JSON" in line and "nothing was sent" in line
    kept = Path(line.rsplit("your edit is in ", 1)[1])
    assert kept.read_text().endswith("{") and kept.stat().st_mode & 0o077 == 0
    assert api.data("GetTask", {"ProjectId": project, "TaskId": task})["TaskBaseAttribute"]["TaskLatestVersionNo"] == version
    # Submit; the listing shows it scheduling.
    assert cli.ok("tasks", "submit", task, "-m", "first").strip().startswith(task)
    items = cli.json("tasks", "list", "--name", name)
    assert [(t["TaskId"], t["Status"], t["Submit"]) for t in items] == [(task, "Y", True)]
    assert name in cli.ok("tasks", "list", "--workflow", wf)
    # Pause and resume through the async job.
    assert "SUCCESS" in cli.ok("tasks", "pause", task)
    assert api.data("GetOpsTask", {"ProjectId": project, "TaskId": task})["TaskBaseAttribute"]["Status"] == "O"
    cli.ok("tasks", "resume", task)
    assert api.data("GetOpsTask", {"ProjectId": project, "TaskId": task})["TaskBaseAttribute"]["Status"] == "Y"


def test_run_follows_one_run_to_the_end_and_its_exit_code_says_how_it_ended(cli: Cli, api: Api,
                                                                            tmp_path: Path) -> None:
    project, wf = current_project(cli), new_workflow(cli)
    daily = {"CycleType": "DAY_CYCLE", "CrontabExpression": "0 0 0 * * ? *", "StartTime": "2025-01-01 00:00:00",
             "MaxRetryNumber": 0}
    good = cli.ok("tasks", "create", "--from-file", str(write_task(
        tmp_path / "good.json", unique("good"), wf, sched=daily, code="echo run ${yyyyMMdd}"))).strip()
    bad = cli.ok("tasks", "create", "--from-file", str(write_task(
        tmp_path / "bad.json", unique("bad"), wf, sched=daily, code="echo failing; exit 4"))).strip()
    # Never submitted: nothing to run.
    assert "tasks submit" in cli.fails("run", good)
    for task in (good, bad):
        cli.ok("tasks", "submit", task)
    # A past data time with no instance yet: a one-off backfill of that time.
    res = cli.run("run", good, "--date", "2025-02-03")
    assert res.returncode == 0, res.stderr
    key = f"{good}_2025-02-03 00:00:00"
    assert f"{key} COMPLETED" in res.stdout and "backfill plan" in res.stderr
    assert api.data("GetTaskInstance", {"ProjectId": project, "InstanceKey": key})["InstanceState"] == "COMPLETED"
    # Again: the instance has ended, so it is rerun (a new execution of the same instance).
    res = cli.run("run", good, "--date", "2025-02-03 00:00:00", "--log")
    assert res.returncode == 0 and "rerunning" in res.stderr and "run 20250203" in res.stdout
    execs = api.data("ListTaskInstanceExecutions", {"ProjectId": project, "InstanceKey": key})["Items"]
    assert [e["RunType"] for e in execs] == ["ADDITION", "RERUN"]
    # No --date: the latest scheduled time up to now (today's 00:00 in UTC+8).
    res = cli.run("run", good)
    assert res.returncode == 0 and " COMPLETED (cost " in res.stdout
    # A failing run exits 1 with the recorded error in one line.
    line = cli.fails("run", bad, "--date", "2025-02-03")
    assert "EXPIRED" in line and "exit code 4" in line and "wedata logs" in line


def test_instances_list_logs_rerun_kill_set_success(cli: Cli, api: Api, tmp_path: Path) -> None:
    project, wf = current_project(cli), new_workflow(cli)
    done = cli.ok("tasks", "create", "--from-file", str(write_task(
        tmp_path / "a.json", unique("done"), wf, code="echo first line\necho second line"))).strip()
    fail = cli.ok("tasks", "create", "--from-file", str(write_task(
        tmp_path / "b.json", unique("fail"), wf, code="exit 3",
        sched={"CycleType": "ONEOFF_CYCLE", "StartTime": "2025-01-01 00:00:00", "MaxRetryNumber": 0}))).strip()
    sleeper = cli.ok("tasks", "create", "--from-file", str(write_task(
        tmp_path / "c.json", unique("sleep"), wf, code="echo sleeping; sleep 300"))).strip()
    for task in (done, fail, sleeper):
        cli.ok("tasks", "submit", task)
    keys = {t: f"{t}_2025-01-01 00:00:00" for t in (done, fail, sleeper)}
    wait_state(api, project, keys[done], {"COMPLETED"})
    wait_state(api, project, keys[fail], {"EXPIRED"})
    wait_state(api, project, keys[sleeper], {"RUNNING"})
    listed = cli.json("instances", "list", "--limit", "100")
    assert {i["InstanceKey"] for i in listed} == set(keys.values())
    failed = cli.json("instances", "list", "--state", "failed", "--since", "1d")
    assert [i["InstanceKey"] for i in failed] == [keys[fail]]
    assert cli.json("instances", "list", "--state", "failed", "--since", "2099-01-01") == []
    assert [i["TaskId"] for i in cli.json("instances", "list", "--task", done)] == [done]
    table = cli.ok("instances", "list", "--task", done)
    assert "DATA TIME (task zone)" in table and "STARTED (UTC" in table and "COMPLETED" in table
    # A T between date and time needs no quoting.
    log = cli.ok("logs", f"{done}_2025-01-01T00:00:00")
    assert "first line\nsecond line\n" in log
    assert "EXPIRED" in cli.ok("instances", "show", keys[fail])
    # Kill the running one; set the failed one to success; rerun the completed one.
    assert "kill: SUCCESS (1 of 1 succeeded)" in cli.ok("kill", keys[sleeper])
    assert api.data("GetTaskInstance", {"ProjectId": project, "InstanceKey": keys[sleeper]})["InstanceState"] == "EXPIRED"
    cli.ok("set-success", keys[fail])
    assert api.data("GetTaskInstance", {"ProjectId": project, "InstanceKey": keys[fail]})["InstanceState"] == "COMPLETED"
    cli.ok("rerun", keys[done])
    wait_until(lambda: api.data("ListTaskInstanceExecutions", {"ProjectId": project, "InstanceKey": keys[done]}),
               lambda d: d["TotalCount"] == 2 and d["Items"][-1]["InstanceState"] == "COMPLETED",
               what="the rerun of the completed instance", progress=lambda d: str(d))
    # An item that cannot be done: the job's reason, exit 1.
    line = cli.fails("kill", keys[done])
    assert "FAIL" in line and "COMPLETED" in line


def test_alarms_list(cli: Cli, api: Api, tmp_path: Path) -> None:
    project, wf = current_project(cli), new_workflow(cli)
    assert cli.json("alarms", "list") == []
    assert "no alarm rules" in cli.run("alarms", "list").stderr
    task = cli.ok("tasks", "create", "--from-file", str(write_task(tmp_path / "t.json", unique("w"), wf))).strip()
    name = unique("rule")
    rule = api.data("CreateOpsAlarmRule", {
        "ProjectId": project, "AlarmRuleName": name, "MonitorObjectType": 1, "MonitorObjectIds": [task],
        "AlarmTypes": ["failure"], "AlarmGroups": [{"AlarmWays": ["1"], "AlarmRecipientType": 2}],
    })["AlarmRuleId"]
    listed = cli.json("alarms", "list")
    assert [(r["AlarmRuleId"], r["MonitorObjectIds"]) for r in listed] == [(rule, [task])]
    table = cli.ok("alarms", "list", "--task", task)
    assert rule in table and name in table and "failure" in table
