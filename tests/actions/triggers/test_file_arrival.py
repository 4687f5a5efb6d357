"""FILE_ARRIVAL workflows through the official SDK on a live server (real clock): a file dropped
in the watched directory starts exactly one run, within 2 s of TriggerWaitTime, naming the file
in its parameters; files arriving together make one batch; a later drop starts a second run;
pause stops firing. SQLite and PostgreSQL."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from tests.actions.triggers.firing_support import (
    file_trigger,
    log_text,
    pause,
    runs,
    set_triggers,
    workflow_with_task,
)
from tests.actions.triggers.test_definitions import Space
from tests.support import Api, ServerProcess, unique
from tests.waiting import wait_until

# Mostly waiting on real time: run in the waiting lane of `make test` (tools/ci/run-suite.sh).
pytestmark = pytest.mark.slow

WAIT_S = 1


def watched(server: ServerProcess) -> Path:
    path = server.home / "incoming" / unique("w")  # under the default watch root, WEDATA_HOME/incoming
    path.mkdir(parents=True)
    return path


def drop(path: Path, text: str = "x") -> float:
    """Write a file the way a careful producer does (a hidden name, then a rename); when it landed."""
    tmp = path.parent / f".{path.name}.part"
    tmp.write_text(text)
    os.replace(tmp, path)
    return time.time()


def run_params(run: dict) -> dict[str, str]:
    return {p["ParamKey"]: p["ParamValue"] for p in json.loads(run["WorkflowParams"] or "[]")}


def wait_runs(api: Api, space: Space, count: int) -> list[dict]:
    return wait_until(lambda: runs(api, space), lambda rs: len(rs) >= count, what=f"{count} runs", progress=len)


def test_a_dropped_file_starts_exactly_one_run_and_a_later_drop_a_second(server: ServerProcess, api: Api) -> None:
    watch = watched(server)
    # The code names the batch's parameters: declared as workflow parameters (the check of task
    # code refuses unknown ones), which each run of a batch sets.
    space, _ = workflow_with_task(api, "echo files=${trigger_files} count=${trigger_file_count} region=${region}",
                                  {"region": "gz", "trigger_files": "", "trigger_file_count": "0"})
    set_triggers(api, space, file_trigger(str(watch), FileNamePattern="*.csv", Recursive=0,
                                          TriggerWaitTimeSecond=WAIT_S, TriggerMinimumIntervalSecond=1),
                 mode="FILE_ARRIVAL")
    (watch / "sub").mkdir()
    drop(watch / "notes.txt")  # not *.csv
    drop(watch / "sub" / "deep.csv")  # in a subdirectory, and Recursive is 0
    landed = drop(watch / "a.csv")
    (first,) = wait_runs(api, space, 1)
    latency = int(first["CreateTime"]) / 1000 - (landed + WAIT_S)
    print(f"file arrival: run created {latency:.2f} s after TriggerWaitTime elapsed")
    assert latency <= 2.0
    assert first["TriggerType"] == "Event"
    assert run_params(first) == {"region": "gz", "trigger_files": str(watch / "a.csv"), "trigger_file_count": "1",
                                 "trigger_path": str(watch)}
    assert [p["ParamKey"] for p in json.loads(first["WorkflowParams"])][:3] == ["region", "trigger_files",
                                                                               "trigger_file_count"]
    wait_until(lambda: runs(api, space)[0]["ExecutionState"], lambda s: s == "SUCCESS", what="the run to succeed")
    assert f"files={watch / 'a.csv'} count=1 region=gz" in log_text(api, space, first["ExecutionId"])
    time.sleep(WAIT_S + 1.5)
    assert len(runs(api, space)) == 1  # the same file never starts a second run

    # Two files a moment apart, within TriggerWaitTime of the first: one batch, one run.
    drop(watch / "b.csv")
    time.sleep(0.3)
    drop(watch / "c.csv")
    second = wait_runs(api, space, 2)[1]
    assert run_params(second)["trigger_files"] == f"{watch / 'b.csv'},{watch / 'c.csv'}"
    assert run_params(second)["trigger_file_count"] == "2"
    time.sleep(WAIT_S + 1.5)
    assert len(runs(api, space)) == 2

    # A file rewritten (new size, new mtime) has arrived again.
    drop(watch / "a.csv", "a longer content")
    third = wait_runs(api, space, 3)[2]
    assert run_params(third)["trigger_files"] == str(watch / "a.csv")


def test_a_paused_file_trigger_starts_nothing_until_resumed(server: ServerProcess, api: Api) -> None:
    watch = watched(server)
    space, _ = workflow_with_task(api)
    set_triggers(api, space, file_trigger(str(watch), TriggerWaitTimeSecond=WAIT_S), mode="FILE_ARRIVAL",
                 status="PAUSED")
    drop(watch / "x.dat")
    time.sleep(WAIT_S + 2.5)
    assert runs(api, space) == []
    pause(api, space, "ACTIVE")
    (run,) = wait_runs(api, space, 1)  # what arrived while paused is one batch on resume
    assert run_params(run)["trigger_files"] == str(watch / "x.dat")
    time.sleep(WAIT_S + 1.5)
    assert len(runs(api, space)) == 1
