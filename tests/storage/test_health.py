"""storage/health.py and scheduler/diskguard.py: what counts as an outage or a full disk, and the
log kept to one line per change of state. The end-to-end faults are in tests/scheduler/test_faults.py."""

from __future__ import annotations

import errno
import logging
import sqlite3
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import exc as sa_exc

from wedata.scheduler.diskguard import DiskGuard
from wedata.storage.health import DatabaseHealth, is_disk_full, outage_reason


def wrap(orig: BaseException, cls: type[sa_exc.DBAPIError] = sa_exc.OperationalError,
         invalidated: bool = False) -> sa_exc.DBAPIError:
    return cls("SELECT 1", {}, orig, connection_invalidated=invalidated)


@pytest.mark.parametrize("exc", [
    wrap(psycopg.OperationalError('connection failed: connection to server at "127.0.0.1", port 5 failed: refused')),
    wrap(psycopg.errors.lookup("57P01")("terminating connection due to administrator command")),
    wrap(psycopg.errors.lookup("57P03")("the database system is starting up")),
    wrap(psycopg.errors.lookup("08006")("connection failure")),
    wrap(psycopg.InterfaceError("the connection is closed"), sa_exc.InterfaceError),
    wrap(psycopg.errors.lookup("42P01")("whatever"), sa_exc.ProgrammingError, invalidated=True),
    wrap(sqlite3.OperationalError("unable to open database file")),
    sa_exc.DisconnectionError("gone"),
])
def test_outages(exc: BaseException) -> None:
    assert outage_reason(exc)


@pytest.mark.parametrize("exc", [
    wrap(psycopg.errors.lookup("40P01")("deadlock detected")),  # an OperationalError too
    wrap(psycopg.errors.lookup("55P03")("lock not available")),
    wrap(psycopg.errors.lookup("23505")("duplicate key"), sa_exc.IntegrityError),
    wrap(sqlite3.OperationalError("database is locked")),
    wrap(sqlite3.OperationalError("database or disk is full")),
    ValueError("no"),
    OSError(errno.ENOSPC, "No space left on device"),
])
def test_not_outages(exc: BaseException) -> None:
    assert outage_reason(exc) is None


def test_full_disks() -> None:
    assert is_disk_full(OSError(errno.ENOSPC, "No space left on device"))
    assert is_disk_full(OSError(errno.EDQUOT, "Disk quota exceeded"))
    assert is_disk_full(wrap(sqlite3.OperationalError("database or disk is full")))
    assert is_disk_full(wrap(psycopg.errors.lookup("53100")("could not extend file")))
    assert not is_disk_full(OSError(errno.EACCES, "Permission denied"))
    assert not is_disk_full(wrap(sqlite3.OperationalError("database is locked")))


def test_one_line_per_change_of_state(caplog: pytest.LogCaptureFixture) -> None:
    now = [100.0]
    health = DatabaseHealth(still_down_every=10, monotonic=lambda: now[0])
    down = wrap(psycopg.OperationalError("connection refused"))
    caplog.set_level(logging.INFO, "wedata.storage.health")
    assert not health.failed(ValueError("not an outage"), "x")
    assert health.describe() == "ok"
    for _ in range(25):  # 25 s of polls by several loops, a few per second
        for where in ("engine", "alarms", "jobs"):
            assert health.failed(down, where)
        now[0] += 1
    assert health.describe() == "unreachable for 25 s: connection refused"
    health.ok()
    health.ok()
    assert health.describe() == "ok"
    assert [(r.levelname, r.getMessage().split(":")[0]) for r in caplog.records] == [
        ("ERROR", "database unreachable (first noticed by engine)"),
        ("WARNING", "database still unreachable after 10 s"),
        ("WARNING", "database still unreachable after 20 s"),
        ("INFO", "database reachable again after 25 s"),
    ]


def test_disk_guard_pauses_and_resumes(tmp_path: Path, caplog: pytest.LogCaptureFixture,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    now = [0.0]
    free = {"bytes": 10 << 20}
    monkeypatch.setattr("wedata.scheduler.diskguard.free_bytes", lambda p: free["bytes"])
    guard = DiskGuard([tmp_path], 1 << 20, probe_interval=1.0, monotonic=lambda: now[0])
    caplog.set_level(logging.INFO, "wedata.scheduler")
    assert guard.check() and guard.describe() == "running"
    # A write met ENOSPC: paused at once, though statvfs says there is room.
    guard.full(tmp_path / "logs" / "x.log", OSError(errno.ENOSPC, "No space left on device"))
    assert not guard.check()
    assert guard.describe() == f"paused: no space left on device under {tmp_path} (No space left on device)"
    now[0] += 1.5
    assert guard.check()  # the probe write worked: resumed by itself
    free["bytes"] = 1000
    now[0] += 1.5
    assert not guard.check() and "(0 KiB free, 1024 KiB needed)" in guard.describe()
    for _ in range(10):
        now[0] += 1.5
        assert not guard.check()
    free["bytes"] = 10 << 20
    now[0] += 1.5
    assert guard.check()
    messages = [r.getMessage().split(":")[0] for r in caplog.records]
    assert messages == ["dispatch paused", "dispatch resumed", "dispatch paused", "dispatch resumed"]
