"""The local executor: real processes, exit codes, kills of whole process groups, re-attaching
after a restart, and the task-type command builders and output parsing."""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from wedata.executors.base import ExecutorError, RunSpec
from wedata.executors.local import LocalExecutor, read_exit_code
from wedata.executors.outputs import collect
from wedata.executors.tasktypes import SUPPORTED_TASK_TYPES, build_command, command_for, python_interpreter
from wedata.scheduling.parameters import RenderContext


class Exits:
    def __init__(self) -> None:
        self.codes: dict[int, int | None] = {}
        self.cv = threading.Condition()

    def __call__(self, execution_id: int, code: int | None) -> None:
        with self.cv:
            self.codes[execution_id] = code
            self.cv.notify_all()

    def wait(self, execution_id: int, timeout: float = 10.0) -> int | None:
        with self.cv:
            assert self.cv.wait_for(lambda: execution_id in self.codes, timeout), f"no exit for {execution_id}"
            return self.codes[execution_id]


@pytest.fixture
def executor() -> Iterator[tuple[LocalExecutor, Exits]]:
    ex, exits = LocalExecutor(), Exits()
    ex.start(exits)
    yield ex, exits
    ex.close()


def spec(tmp: Path, eid: int, script: str) -> RunSpec:
    run_dir = tmp / f"run{eid}"
    argv = build_command(35, script, {}, str(run_dir))
    return RunSpec(eid, argv, str(tmp), str(tmp / f"{eid}.log"), str(run_dir))


def test_the_exit_file_is_allocated_before_the_command_runs(executor: tuple[LocalExecutor, Exits],
                                                             tmp_path: Path) -> None:
    """The code is later written over the blank line in place: no new disk block is needed to
    record it (a disk the task filled cannot lose it; tests/scheduler/test_faults.py)."""
    ex, exits = executor
    s = spec(tmp_path, 11, f"wc -c < {tmp_path}/run11/exit; exit 255")
    ex.submit(s)
    assert exits.wait(11) == 255
    assert (tmp_path / "11.log").read_text().split() == ["5"]  # allocated while the task ran ...
    exit_file = Path(s.run_dir, "exit")
    assert exit_file.read_text() == "255 \n" and read_exit_code(s.run_dir) == 255  # ... overwritten in place
    exit_file.write_text("    \n")
    assert read_exit_code(s.run_dir) is None  # the blank line alone is no code


def test_exit_codes_and_output_are_reported(executor: tuple[LocalExecutor, Exits], tmp_path: Path) -> None:
    ex, exits = executor
    h0 = ex.submit(spec(tmp_path, 1, "echo out; echo err >&2"))
    h1 = ex.submit(spec(tmp_path, 2, "exit 7"))
    assert exits.wait(1) == 0 and exits.wait(2) == 7
    assert (tmp_path / "1.log").read_text().split() == ["out", "err"]
    assert h0["pid"] > 0 and h0["run_dir"] == str(tmp_path / "run1") and h0["executor"] == "local"
    assert read_exit_code(h1["run_dir"]) == 7
    assert ex.poll(h1).exit_code == 7 and not ex.poll(h1).running


def test_kill_reaches_the_whole_process_group(executor: tuple[LocalExecutor, Exits], tmp_path: Path) -> None:
    ex, exits = executor
    marker = tmp_path / "survived"
    h = ex.submit(spec(tmp_path, 3, f"(sleep 2; touch {marker}) &\nsleep 30"))
    time.sleep(0.2)
    assert ex.poll(h).running
    ex.kill(h, grace_seconds=0.5)
    assert exits.wait(3) == 143  # SIGTERM: 128 + 15
    time.sleep(2.5)
    assert not marker.exists()


def test_a_new_executor_reattaches_a_running_attempt(tmp_path: Path) -> None:
    first, first_exits = LocalExecutor(), Exits()
    first.start(first_exits)
    go = tmp_path / "go"
    h = first.submit(spec(tmp_path, 4, f"for _ in $(seq 600); do [ -e {go} ] && break; sleep 0.02; done\nexit 5"))
    first.close()  # the "crashed" scheduler: nobody watches the process any more
    second, exits = LocalExecutor(), Exits()
    second.start(exits)
    try:
        pid_file = Path(h["run_dir"], "pid")
        deadline = time.monotonic() + 5
        while not pid_file.exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert second.attach(4, {"run_dir": h["run_dir"], "host": h["host"]})  # pid from the pid file
        assert 4 not in exits.codes
        pid_file.unlink()  # even without the pid file the process is found (by its command line)
        assert second.attach(40, {"run_dir": h["run_dir"]})
        assert 40 not in exits.codes
        go.touch()
        assert exits.wait(4) == 5 and exits.wait(40) == 5  # read from the wrapper's exit file
        # Attaching to an attempt that ended while nobody watched reports its code at once.
        assert second.attach(5, h) and exits.wait(5) == 5
        # An attempt of another host cannot be reached.
        assert not second.attach(6, {**h, "host": "elsewhere"})
    finally:
        go.touch()
        second.close()


def test_a_vanished_attempt_is_lost(executor: tuple[LocalExecutor, Exits], tmp_path: Path) -> None:
    ex, exits = executor
    run_dir = tmp_path / "ghost"
    run_dir.mkdir()
    (run_dir / "pid").write_text("999999\n")
    state = ex.poll({"run_dir": str(run_dir), "pid": 999999})
    assert not state.running and state.lost
    assert ex.attach(9, {"run_dir": str(run_dir)}) and exits.wait(9) is None


def test_task_types(tmp_path: Path) -> None:
    assert {30, 35, 38, 132, 21, 23, 32, 134} == SUPPORTED_TASK_TYPES
    # Shell form mode: task.sh unpacks the package with the copied unpacker, then runs the entry.
    form = build_command(38, "run.sh a 'b c'", {}, str(tmp_path / "form"))
    assert form == ["/bin/bash", str(tmp_path / "form" / "task.sh")]
    script = (tmp_path / "form" / "task.sh").read_text()
    assert "unpack_package.py" in script and "exec /bin/bash run.sh a 'b c'" in script
    assert (tmp_path / "form" / "unpack_package.py").is_file()
    # A notebook: the .ipynb and the runner are written into the run directory, the server's
    # own interpreter runs it and writes the executed notebook into the working directory.
    nb = build_command(132, '{"cells": []}', {}, str(tmp_path / "nb"))
    assert nb == [sys.executable, "-u", str(tmp_path / "nb" / "run_notebook.py"), str(tmp_path / "nb" / "notebook.ipynb"),
                  "executed.ipynb"]
    assert (tmp_path / "nb" / "notebook.ipynb").read_text() == '{"cells": []}'
    assert "nbclient" in (tmp_path / "nb" / "run_notebook.py").read_text()
    argv = build_command(30, "print(1)", {"python_sub_version": "python3"}, str(tmp_path / "py"))
    assert argv[1:] == ["-u", str(tmp_path / "py" / "task.py")] and os.path.exists(argv[0])
    with pytest.raises(ExecutorError, match="python9.9"):
        python_interpreter({"python_sub_version": "python9.9"})
    with pytest.raises(ExecutorError, match="task type 26"):
        build_command(26, "{}", {}, str(tmp_path / "x"))


def test_the_command_is_built_without_the_disk_and_the_executor_writes_its_files(
        executor: tuple[LocalExecutor, Exits], tmp_path: Path) -> None:
    """The engine builds an attempt's command inside its cycle without writing anything
    (scheduler/launcher.py); the executor makes the run directory and writes the files when it
    starts the attempt, then runs it."""
    ex, exits = executor
    run_dir = tmp_path / "later" / "run21"
    command = command_for(35, "echo from $0; exit 3", {}, str(run_dir))
    assert not run_dir.exists()
    assert command.argv == ["/bin/bash", str(run_dir / "task.sh")]
    assert command.files == {"task.sh": "echo from $0; exit 3\n"}
    form = command_for(38, "run.sh", {}, str(tmp_path / "form"))
    assert set(form.files) == {"task.sh", "unpack_package.py"} and not (tmp_path / "form").exists()
    unpacker = Path(__file__).parents[2] / "src/wedata/executors/form_unpack.py"
    assert form.files["unpack_package.py"] == unpacker.read_text()
    s = RunSpec(21, command.argv, str(run_dir / "work"), str(tmp_path / "21.log"), str(run_dir), files=command.files)
    ex.submit(s)
    assert exits.wait(21) == 3
    assert (tmp_path / "21.log").read_text() == f"from {run_dir / 'task.sh'}\n"
    assert (run_dir / "task.sh").read_text() == "echo from $0; exit 3\n" and (run_dir / "work").is_dir()


def test_output_parameters_from_set_value_lines_and_the_result(tmp_path: Path) -> None:
    log = tmp_path / "attempt.log"
    log.write_text("header from an earlier try\n")
    offset = log.stat().st_size
    with open(log, "a") as f:
        f.write("${setValue(a=1)}\n  ${setValue( b = two words )}  \nnoise\n${setValue(a=3)}\nx\ty\tz\n\n")
    ctx = RenderContext(data_time=datetime(2025, 3, 1))
    got = collect(str(log), offset, {"b": "ignored", "col": "$[0][2]", "day": "${yyyyMMdd}", "far": "$[4][0]"}, ctx)
    assert got.values == {"a": "3", "b": " two words ", "col": "z", "day": "20250301"}
    assert set(got.missing) == {"far"}
    assert collect(str(log), 0, {}, ctx).values["a"] == "3"


@pytest.mark.parametrize("nice", [0, 7])
@pytest.mark.parametrize("way", ["spawning-thread", "nice-exec"])
def test_attempts_run_at_the_configured_nice_level_under_their_own_pid(tmp_path: Path, nice: int, way: str,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """WEDATA_TASK_NICE: the whole tree of an attempt runs at that nice level (a burst of runs
    leaves the API its share of the CPU), and the handle's pid is the wrapper's (kills and
    re-attaching use it). Both ways (executors/niceness.py): the spawning thread lowered for the
    spawn, where it may raise itself back (root), and `nice` exec'ing the wrapper elsewhere. The
    spawning thread is back at its own level afterwards."""
    import threading

    from wedata.executors import niceness
    from wedata.executors.sandbox import SandboxSettings

    if way == "spawning-thread" and not niceness.thread_nice_works():
        pytest.skip("this process may not raise a thread's priority back (not root, or no CAP_SYS_NICE)")
    monkeypatch.setattr(niceness, "_probed", way == "spawning-thread")
    before = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    ex, exits = LocalExecutor(SandboxSettings(mode="none", allow_unisolated=True, nice=nice)), Exits()
    ex.start(exits)
    try:
        s = spec(tmp_path, 21, "nice; sh -c nice")  # the shell itself and a child of it
        handle = ex.submit(s)
        assert exits.wait(21) == 0
    finally:
        ex.close()
    expected = str(min(19, os.nice(0) + nice))
    assert (tmp_path / "21.log").read_text().split() == [expected, expected]
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == before
    assert (niceness.nice_prefix(nice) != []) == (way == "nice-exec" and nice > 0)
    assert Path(s.run_dir, "pid").read_text().strip() == str(handle["pid"])
