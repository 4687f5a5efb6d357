"""The engine's acceptance behaviour through the official SDK, on a server whose clock starts at
2025-03-01 22:58:00 (UTC+8) and runs 20 times faster than real time, so that a day's last hour,
RetryWait and ExecutionTTL minutes pass in seconds. SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from tests.actions.instances.test_instances import Space, instances, new_space, submit, wait_for
from tests.conftest import require_postgres
from tests.support import PG_URL, Api, ServerProcess, create_pg_database, drop_pg_database, unique

FACTOR = 20
CLOCK_START = "2025-03-01 14:58:00"  # UTC, i.e. 22:58:00 in UTC+8
DAY = "2025-03-01"
HOURLY = {"CycleType": "HOUR_CYCLE", "CrontabExpression": "0 0 * * * ? *", "StartTime": f"{DAY} 00:00:00"}
DAILY = {"CycleType": "DAY_CYCLE", "CrontabExpression": "0 0 0 * * ? *", "StartTime": f"{DAY} 00:00:00"}


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def fast(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    db_name = url = None
    if request.param == "postgres":
        require_postgres()
        db_name = create_pg_database(migrated=True)
        url = f"{PG_URL}/{db_name}"
    env = {"WEDATA_CLOCK_START": CLOCK_START, "WEDATA_CLOCK_FACTOR": str(FACTOR), "WEDATA_PLAN_INTERVAL": "0.2"}
    srv = ServerProcess(tmp_path_factory.mktemp(f"fast-{request.param}"), url, env).start()
    yield srv.admin()
    srv.stop()
    if db_name:
        drop_pg_database(db_name)


@pytest.fixture(scope="module")
def space(fast: Api) -> Space:
    return new_space(fast)


def on_day(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted((i for i in items if i["CurRunDate"].startswith(DAY)), key=lambda i: i["CurRunDate"])


@pytest.mark.slow  # mostly waiting on real time (tools/ci/run-suite.sh)
def test_a_daily_task_waits_for_all_24_hourly_upstream_instances(fast: Api, space: Space) -> None:
    hourly = submit(fast, space, "echo hour ${HH}", sched=HOURLY)
    daily = submit(fast, space, "echo day ${yyyyMMdd}", sched={**DAILY, "UpstreamDependencyConfigList": [
        {"TaskId": hourly, "MainCyclicConfig": "DAY", "SubordinateCyclicConfig": "CURRENT_DAY"}]})
    # The 23:00 hourly instance is still in the future (the clock is at about 22:58): the daily
    # instance of the day must wait for it although its own time (00:00) is long past.
    wait_for(fast, space, hourly, {"COMPLETED"}, count=23, timeout=30)
    (day_inst,) = on_day(instances(fast, space, daily))
    last_hour = on_day(instances(fast, space, hourly))[-1]
    if last_hour["InstanceState"] != "COMPLETED":
        assert day_inst["InstanceState"] == "WAIT_UPSTREAM"
    (day_inst,) = on_day(wait_for(fast, space, daily, {"COMPLETED"}, timeout=60))
    hours = on_day(instances(fast, space, hourly))
    assert [h["CurRunDate"][11:] for h in hours] == [f"{h:02d}:00:00" for h in range(24)]
    assert all(h["InstanceState"] == "COMPLETED" for h in hours)
    assert hours[-1]["SchedulerTime"] == f"{DAY} 23:00:00"
    assert day_inst["StartTime"] >= max(h["EndTime"] for h in hours)
    assert day_inst["CurRunDate"] == f"{DAY} 00:00:00" and day_inst["InstanceType"] == 1


def test_orderly_self_dependency_runs_in_data_time_order(fast: Api, space: Space, tmp_path: Path) -> None:
    trace = tmp_path / "order.txt"
    code = f"echo ${{HH}} >> {trace}\nif [ ${{HH}} = 05 ]; then exit 1; fi"
    task = submit(fast, space, code, sched={**HOURLY, "SelfDepend": "orderly", "MaxRetryNumber": 0})
    wait_for(fast, space, task, {"EXPIRED"}, timeout=30)
    items = on_day(instances(fast, space, task))
    states = {i["CurRunDate"][11:13]: i["InstanceState"] for i in items}
    assert [states[f"{h:02d}"] for h in range(5)] == ["COMPLETED"] * 5 and states["05"] == "EXPIRED"
    # Every later hour waits for its failed predecessor: orderly means "t waits for t-1's success".
    later = [i for i in items if i["CurRunDate"][11:13] > "05"]
    assert later and all(i["InstanceState"] == "WAIT_UPSTREAM" and i["Tries"] == 0 for i in later)
    assert trace.read_text().split() == ["00", "01", "02", "03", "04", "05"]
    started = [i["StartTime"] for i in items[:6]]
    assert started == sorted(started)


@pytest.mark.slow  # mostly waiting on real time (tools/ci/run-suite.sh)
def test_a_failing_task_retries_after_the_wait_then_expires(fast: Api, space: Space) -> None:
    task = submit(fast, space, "echo failing; exit 3", sched={"MaxRetryNumber": 1, "RetryWaitMinute": 1})
    (item,) = wait_for(fast, space, task, {"EXPIRED"}, timeout=40)
    assert (item["Tries"], item["TryLimit"], item["TotalRunNum"]) == (2, 2, 2)
    assert "exit code 3" in fast.data("GetTaskInstance", {"ProjectId": space.project,
                                                          "InstanceKey": item["InstanceKey"]})["JobErrorMsg"]
    execs = fast.data("ListTaskInstanceExecutions", {"ProjectId": space.project,
                                                     "InstanceKey": item["InstanceKey"]})["Items"]
    assert [(e["Tries"], e["InstanceState"]) for e in execs] == [(1, "FAILED_RETRY"), (2, "EXPIRED")]

    def phase(e: dict[str, Any], state: str, edge: str) -> datetime:
        (p,) = [p for p in e["ExecutionPhaseList"] if p["DetailState"] == state]
        return datetime.strptime(p[edge], "%Y-%m-%d %H:%M:%S")

    for before, after in zip(execs, execs[1:], strict=False):
        gap = (phase(after, "RUNNING", "StartTime") - phase(before, "FAILED", "StartTime")).total_seconds()
        assert 60 <= gap <= 60 + 3 * FACTOR, gap  # RetryWaitMinute 1, in clock time


@pytest.mark.slow  # mostly waiting on real time (tools/ci/run-suite.sh)
def test_execution_ttl_kills_a_sleeper(fast: Api, space: Space) -> None:
    task = submit(fast, space, "echo sleeping; sleep 600", sched={"ExecutionTTLMinute": 1, "MaxRetryNumber": 3})
    (item,) = wait_for(fast, space, task, {"EXPIRED"}, timeout=20)
    assert item["Tries"] == 1  # a timeout is not retried
    detail = fast.data("GetTaskInstance", {"ProjectId": space.project, "InstanceKey": item["InstanceKey"]})
    assert "ExecutionTTL" in detail["JobErrorMsg"]
    assert 60_000 <= detail["CostTime"] <= 60_000 + 5 * FACTOR * 1000
    log = fast.data("GetTaskInstanceLog", {"ProjectId": space.project, "InstanceKey": item["InstanceKey"]})
    assert "sleeping" in log["LogInfo"] and "execution timeout" in log["LogInfo"]


def test_parameters_pass_from_a_shell_task_to_a_python_task(fast: Api, space: Space) -> None:
    up_name = unique("producer")
    up = submit(fast, space, "echo '${setValue(rows=42)}'\nprintf 'x\\ty\\tz\\n'", name=up_name,
                sched={"ParamTaskOutList": [{"ParamKey": "rows", "ParamValue": "0"},
                                            {"ParamKey": "col", "ParamValue": "$[0][2]"}]})
    down = submit(
        fast, space, 'print("rows=${n} col=${c} day=${yyyy-MM-dd}")', type_id="30",
        conf={"TaskExtConfigurationList": [{"ParamKey": "python_sub_version", "ParamValue": "python3"}]},
        sched={"UpstreamDependencyConfigList": [{"TaskId": up, "MainCyclicConfig": "DAY",
                                                 "SubordinateCyclicConfig": "CURRENT_DAY"}],
               "ParamTaskInList": [
                   {"ParamKey": "n", "FromTaskId": up, "FromParamKey": "rows", "ParamDesc": f"p.{up_name}.rows"},
                   {"ParamKey": "c", "FromTaskId": up, "FromParamKey": "col", "ParamDesc": f"p.{up_name}.col"}]},
    )
    (item,) = wait_for(fast, space, down, {"COMPLETED"}, timeout=20)
    log = fast.data("GetTaskInstanceLog", {"ProjectId": space.project, "InstanceKey": item["InstanceKey"]})
    assert "rows=42 col=z day=2025-01-01" in log["LogInfo"].split("<br>")
    assert log["CodeContent"] == 'print("rows=42 col=z day=2025-01-01")'


def test_a_missing_upstream_output_fails_the_downstream_clearly(fast: Api, space: Space) -> None:
    up_name = unique("silent")
    # The output is declared (SubmitTask checks that), but the run does not produce it.
    up = submit(fast, space, "echo nothing", name=up_name,
                sched={"ParamTaskOutList": [{"ParamKey": "absent", "ParamValue": "$[5][0]"}]})
    down = submit(fast, space, "echo ${v}", sched={
        "MaxRetryNumber": 0,
        "UpstreamDependencyConfigList": [{"TaskId": up, "MainCyclicConfig": "DAY",
                                          "SubordinateCyclicConfig": "CURRENT_DAY"}],
        "ParamTaskInList": [{"ParamKey": "v", "FromTaskId": up, "FromParamKey": "absent",
                             "ParamDesc": f"p.{up_name}.absent"}]})
    (item,) = wait_for(fast, space, down, {"EXPIRED"}, timeout=20)
    log = fast.data("GetTaskInstanceLog", {"ProjectId": space.project, "InstanceKey": item["InstanceKey"]})
    assert "produced no output parameter absent" in log["LogInfo"]
    (upstream,) = instances(fast, space, up)
    up_log = fast.data("GetTaskInstanceLog", {"ProjectId": space.project, "InstanceKey": upstream["InstanceKey"]})
    assert "output parameter absent not produced" in up_log["LogInfo"]
