"""The launcher: the thread that starts and kills attempts after the engine's cycle, in order."""

from __future__ import annotations

import threading
import time

from wedata.scheduler.launcher import Launcher


def test_work_runs_in_the_order_it_was_queued_and_one_failure_stops_nothing() -> None:
    done: list[str] = []
    seconds: list[float] = []
    gate = threading.Event()
    launcher = Launcher(seconds.append)

    def fail() -> None:
        raise OSError("no such file")

    # The first batch waits on the gate: the others queue up behind it, whatever their size.
    launcher.submit([gate.wait, lambda: done.append("start 1"), fail, lambda: done.append("start 2")])
    launcher.submit([lambda: done.append("kill 1")])
    launcher.submit([])  # nothing: no batch
    time.sleep(0.05)
    assert done == []
    gate.set()
    launcher.close()  # runs what is queued first
    assert done == ["start 1", "start 2", "kill 1"]
    assert len(seconds) == 2 and all(s >= 0 for s in seconds)


def test_close_waits_for_what_is_queued_and_a_later_submit_starts_a_new_thread() -> None:
    done: list[int] = []
    launcher = Launcher()
    launcher.submit([lambda: time.sleep(0.2), lambda: done.append(1)])
    launcher.close()
    assert done == [1]
    launcher.submit([lambda: done.append(2)])
    launcher.close()
    assert done == [1, 2]
    launcher.close()  # nothing running: nothing to do
