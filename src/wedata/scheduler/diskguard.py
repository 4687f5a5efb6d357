"""Pausing dispatch while the disk under the engine's files is full, and resuming by itself.

Why: an attempt needs disk before it starts (its log header, its run directory and code file)
and after it ends (the wrapper's exit code, the log footer, the database row). Starting attempts
on a full disk fails them one after another (burning their retries), and an attempt that ends
there may lose its exit status. So the engine stops *starting* attempts while the disk is full,
and goes on ending the running ones (their exits stay in memory until they are recorded,
engine.py; the wrapper's exit file is pre-allocated, executors/local.py).

The guard is paused when the free space under one of its paths (the logs directory, the run
root) drops below ``min_free`` bytes (checked with ``statvfs`` at most every ``probe_interval``
seconds: microseconds each), or at once when any engine write met ``ENOSPC``/``EDQUOT``
(:meth:`DiskGuard.full`). It resumes when the free space is back above ``min_free`` under every
path AND a probe write of 64 KiB succeeds there (``statvfs`` alone can be wrong: quotas,
reserved blocks). One log line per change of state, and a reminder every ``remind_every``
seconds while paused.

Decision (WeData is silent): a waiting instance is not written to while dispatch is paused (its
row, history and log would need the very space that is missing). The reason is shown by
``/healthz`` ("dispatch": "paused: ...") and, in the process that runs the engine, as the
``JobErrorMsg`` of a due WAIT_RUN instance in GetTaskInstance (services/instances/).
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path

log = logging.getLogger("wedata.scheduler")

_PROBE_BYTES = 64 * 1024


def free_bytes(path: Path) -> int:
    st = os.statvfs(path)
    return st.f_bavail * st.f_frsize


class DiskGuard:
    def __init__(
        self,
        paths: Sequence[Path],
        min_free: int,
        *,
        probe_interval: float = 1.0,
        remind_every: float = 60.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.paths = list(paths)
        self.min_free = min_free
        self.probe_interval = probe_interval
        self.remind_every = remind_every
        self._now = monotonic
        self.reason: str | None = None  # None: dispatch runs
        self._since = 0.0
        self._reminded = 0.0
        self._next_probe = 0.0

    @property
    def paused(self) -> bool:
        return self.reason is not None

    def describe(self) -> str:
        return "running" if self.reason is None else f"paused: {self.reason}"

    def full(self, path: str | Path | None, exc: BaseException | None = None) -> None:
        """A write under ``path`` met "no space left": pause now (probe again soon)."""
        where = Path(path) if path else (self.paths[0] if self.paths else Path("."))
        detail = f" ({exc.strerror or exc})" if isinstance(exc, OSError) else ""
        self._pause(f"no space left on device under {self._root_of(where)}{detail}")
        self._next_probe = self._now() + self.probe_interval

    def check(self) -> bool:
        """True when dispatch may go on. Cheap: probes at most every ``probe_interval`` s."""
        now = self._now()
        if now < self._next_probe:
            return self.reason is None
        self._next_probe = now + self.probe_interval
        short = self._short_path()
        if short is not None:
            path, free = short
            self._pause(f"no space left on device under {path} ({free // 1024} KiB free, "
                        f"{self.min_free // 1024} KiB needed)")
        elif self.reason is not None and self._probe_writes():
            log.info("dispatch resumed: disk space is back (paused for %d s)", now - self._since)
            self.reason = None
        if self.reason is not None and now - self._reminded >= self.remind_every:
            self._reminded = now
            log.warning("dispatch still paused after %d s: %s", now - self._since, self.reason)
        return self.reason is None

    # -- internals ------------------------------------------------------------------------------

    def _pause(self, reason: str) -> None:
        if self.reason is None:
            self._since = self._reminded = self._now()
            log.error("dispatch paused: %s; running attempts go on, new ones wait until space returns", reason)
        self.reason = reason

    def _root_of(self, path: Path) -> Path:
        for p in self.paths:
            with contextlib.suppress(ValueError):
                path.relative_to(p)
                return p
        return path

    def _short_path(self) -> tuple[Path, int] | None:
        for p in self.paths:
            try:
                free = free_bytes(p)
            except OSError:
                continue  # a missing directory is not a full disk (it is made on first use)
            if free < self.min_free:
                return p, free
        return None

    def _probe_writes(self) -> bool:
        for p in self.paths:
            probe = p / f".wedata-space-probe-{os.getpid()}"
            try:
                fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                try:
                    os.write(fd, b"\0" * _PROBE_BYTES)
                    os.fsync(fd)
                finally:
                    os.close(fd)
            except OSError:
                return False
            finally:
                with contextlib.suppress(OSError):
                    probe.unlink()
        return True
