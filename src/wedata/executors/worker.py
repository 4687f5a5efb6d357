"""``wedata worker``: a Celery 5 worker that runs the attempts of remote resource groups.

It consumes the queues of its groups (``wedata.rg.<group id>``) with ``slots`` threads, and runs
each attempt exactly as the engine's local executor would, because it *is* the local executor:
the same wrapper (pid and exit files, own session and process group), the same task isolation
(this host's ``WEDATA_SANDBOX`` settings), the same kill (SIGTERM to the group, SIGKILL after
the grace). The rendering happened at the claim, in the engine; the worker gets the rendered
``RunSpec`` from the database (executors/remote.py). It needs the database and the broker,
never the server's key file or any credential of the server.

One attempt (:meth:`Worker.execute`, the Celery task, in a pool thread):

1. claim it: insert its ``remote_runs`` row, fenced by the message's token and the attempt still
   RUNNING (a stale, duplicate or forged message is dropped and acknowledged);
2. unpack the spec into a run directory of its own, write a first log line naming this worker,
   start the process;
3. every ``stream_interval`` (0.3 s) send what the process wrote to its log as chunks; a write
   that finds the run no longer ours (an engine declared it lost) kills the process;
4. at the end: the last chunks, the exit code and the outputs scanned from the output
   (executors/outputs.py) in one fenced transaction; then an end announcement to the engines,
   sent by the announcer thread (the slot is free at once, and a broker that is down holds up
   the announcer, never a slot: the engines' poll finds an end that was not announced).

Beside the pool: a control thread polls the database every half second for kill requests of
its runs (kill, stop, ExecutionTTL all arrive that way) and for runs an engine declared lost,
and heartbeats every ``heartbeat_interval``; when no heartbeat has succeeded for half the lease,
the worker kills its own runs (an engine will declare them lost after the lease: they must not
run on meanwhile). A guardian process (guardian.py) kills them if the worker dies or freezes.
"""

from __future__ import annotations

import codecs
import contextlib
import logging
import os
import queue
import shutil
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, TypeVar

from celery.exceptions import Reject

from wedata.executors.base import ExecutorError, Handle
from wedata.executors.celeryapp import announce_end, make_app
from wedata.executors.local import LocalExecutor
from wedata.executors.outputs import scan
from wedata.executors.remote import TASK_NAME, WorkerStore, queue_name, unpack_spec
from wedata.executors.sandbox import SandboxSettings
from wedata.scheduling.timezones import DEFAULT_ZONE, parse_zone, utc_to_wall
from wedata.scheduling.walltime import format_wall

log = logging.getLogger("wedata.worker")
T = TypeVar("T")

START_FAILED = 126  # the exit code of an attempt this worker could not start (the reason is in its log)
_CHUNK_CHARS = 64 * 1024
# An announcement older than this is not sent: the engines' poll (every second) has found that end.
_ANNOUNCE_WITHIN = 2.0
_LOG_ZONE = parse_zone(DEFAULT_ZONE)


def log_line(now: datetime, level: str, message: str) -> str:
    """A line as the engine writes them (scheduler/runs.py): wall time in UTC+8 naming its zone,
    level, text. ``now``: naive UTC, on the database's clock (not this machine's)."""
    aware = now.replace(tzinfo=UTC)
    offset = aware.astimezone(_LOG_ZONE).strftime("%z")
    return f"{format_wall(utc_to_wall(aware, _LOG_ZONE))} {offset[:3]}:{offset[3:]} {level} {message}\n"


@dataclass
class WorkerConfig:
    groups: tuple[str, ...]
    slots: int
    home: Path  # this worker's own directory (run directories); not the server's home
    broker_url: str
    lease: float = 30.0
    heartbeat_interval: float = 2.0
    kill_grace: float = 3.0
    visibility_timeout: float = 300.0
    sandbox: SandboxSettings | None = None
    control_interval: float = 0.5
    stream_interval: float = 0.3
    loglevel: str = "INFO"


@dataclass
class _Run:
    execution_id: int
    done: threading.Event = field(default_factory=threading.Event)
    code: int | None = None
    handle: Handle | None = None
    kill_sent: bool = False
    fenced: bool = False
    stream_failing: bool = False


class _LogStreamer:
    """What a process appended to its log file since the last read, as text chunks."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.f: IO[bytes] | None = None
        self.decoder = codecs.getincrementaldecoder("utf-8")("replace")

    def read(self, final: bool = False) -> list[str]:
        if self.f is None:
            try:
                self.f = open(self.path, "rb")  # noqa: SIM115 (kept open while the attempt runs)
            except OSError:
                return []
        text = self.decoder.decode(self.f.read(), final=final)
        if final:
            self.f.close()
        return [text[i : i + _CHUNK_CHARS] for i in range(0, len(text), _CHUNK_CHARS)]


class Worker:
    def __init__(self, store: WorkerStore, config: WorkerConfig) -> None:
        self.store = store
        self.config = config
        self.host = socket.gethostname()
        self.worker_id = f"{self.host[:40]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.run_root = config.home / "worker-runs" / self.worker_id.replace(":", "-")
        self.local = LocalExecutor(config.sandbox)
        self.app = make_app(config.broker_url, visibility_timeout=config.visibility_timeout)
        self.app.task(name=TASK_NAME, bind=False, acks_late=True, reject_on_worker_lost=True,
                      ignore_result=True)(self.execute)
        self._lock = threading.Lock()
        self._runs: dict[int, _Run] = {}
        self._stopping = threading.Event()
        self._guardian: subprocess.Popen[bytes] | None = None
        self.isolation = "none"
        self._skew_reported = False
        self._ends: queue.SimpleQueue[tuple[int, float] | None] = queue.SimpleQueue()

    # -- lifecycle ------------------------------------------------------------------------------

    def run(self) -> None:
        """Serve until Celery stops (SIGTERM: warm shutdown, running attempts finish first)."""
        self.run_root.mkdir(parents=True, exist_ok=True)
        self.isolation = str(self.local.isolation.get("isolation"))
        self._sync_clock()
        self.local.start(self._on_exit)
        self._start_guardian()
        self._register()
        threads = [threading.Thread(target=self._control_loop, name="wedata-worker-control", daemon=True),
                   threading.Thread(target=self._tick_loop, name="wedata-worker-tick", daemon=True),
                   threading.Thread(target=self._announce_loop, name="wedata-worker-announce", daemon=True)]
        for t in threads:
            t.start()
        log.info("worker %s: groups %s, %d slot(s), isolation %s", self.worker_id, ",".join(self.config.groups),
                 self.config.slots, self.isolation)
        try:
            worker = self.app.Worker(
                hostname=f"wedata-{os.getpid()}@{self.host}",
                pool_cls="threads",
                concurrency=self.config.slots,
                queues=[queue_name(g) for g in self.config.groups],
                loglevel=self.config.loglevel,
                without_gossip=True,
                without_mingle=True,
                without_heartbeat=True,
                quiet=True,
            )
            worker.start()
        finally:
            self._stopping.set()
            self._ends.put(None)
            with contextlib.suppress(Exception):
                self.store.stop_worker(self.worker_id)
            self.local.close()
            if self._guardian is not None and self._guardian.stdin is not None:
                with contextlib.suppress(OSError):
                    self._guardian.stdin.close()  # end of file: it kills what is left and exits
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self._guardian.wait(5)

    def _start_guardian(self) -> None:
        fence_after = max(self.config.lease / 2, 1.0)
        self._guardian = subprocess.Popen(
            [sys.executable, "-m", "wedata.executors.guardian", str(self.run_root), str(fence_after)],
            stdin=subprocess.PIPE, start_new_session=True, close_fds=True,
        )

    def _register(self) -> None:
        self.store.register_worker(self.worker_id, self.host, os.getpid(), self.config.groups, self.config.slots,
                                   self.isolation)

    def _sync_clock(self) -> None:
        """Measure this machine's clock against the database's (heartbeats, start and end times
        and log lines are on the database's clock); say so once when it is off by a second or more."""
        skew = self.store.sync_clock()
        if abs(skew) >= 1.0 and not self._skew_reported:
            self._skew_reported = True
            log.warning("this machine's clock is %.1f s %s the database's: the worker's times are taken from the "
                        "database's clock", abs(skew), "behind" if skew > 0 else "ahead of")

    def _announce_loop(self) -> None:
        """Announce the recorded ends to the engines (best effort, in order, off the pool's threads)."""
        while True:
            item = self._ends.get()
            if item is None:
                return
            eid, recorded = item
            if time.monotonic() - recorded > _ANNOUNCE_WITHIN:
                continue  # held up by a broker outage: the engines' poll has found it
            try:
                announce_end(self.app, eid)
            except Exception as exc:  # the engines' poll finds it
                log.debug("cannot announce the end of attempt %s: %s", eid, exc)

    def _tick_loop(self) -> None:
        g = self._guardian
        while not self._stopping.wait(0.5):
            if g is not None and g.stdin is not None:
                try:
                    g.stdin.write(b".")
                    g.stdin.flush()
                except (OSError, ValueError):
                    return

    # -- one attempt (the Celery task) ------------------------------------------------------------

    def _persist(self, what: str, fn: Callable[[], T]) -> T:
        """``fn`` until it gets through to the database (an outage must lose neither a start nor
        an exit); after half the lease an engine may have declared the run lost: the fenced
        writes then say so."""
        started = time.monotonic()
        while True:
            try:
                return fn()
            except Exception as exc:
                if self._stopping.is_set() or time.monotonic() - started > self.config.lease:
                    raise
                log.warning("%s: the database failed (%s); trying again", what, exc)
                time.sleep(1.0)

    def execute(self, execution_id: int, token: str) -> None:
        try:
            claim = self._persist(f"attempt {execution_id}", lambda: self.store.claim(
                int(execution_id), str(token), self.worker_id))
        except Exception as exc:
            # Not taken: give the message back to the broker for another try (or another worker).
            raise Reject(f"cannot claim attempt {execution_id}: {exc}", requeue=True) from exc
        if isinstance(claim, str):
            log.info("message for attempt %s dropped: %s", execution_id, claim)
            return
        eid = int(execution_id)
        packed: dict[str, Any] = dict(claim.handle.get("spec") or {})
        name = os.path.basename(str(packed.get("run_dir") or "")) or str(eid)
        run_dir = str(self.run_root / name)
        log_path = str(self.run_root / f"{name}.log")
        seq, pos = claim.log_seq, claim.log_bytes
        run = _Run(eid)
        with self._lock:
            self._runs[eid] = run
        streamer = _LogStreamer(log_path)
        output_from = 0
        code: int | None
        texts_before_end: list[str] = []
        try:
            try:
                spec = unpack_spec(packed, eid, run_dir, log_path)
                with open(log_path, "a", encoding="utf-8") as f:
                    f.write(log_line(self.store.now(), "INFO", f"running on worker {self.worker_id} (host {self.host}, "
                                                               f"isolation {self.isolation})"))
                    output_from = f.tell()
                run.handle = self.local.submit(spec)
            except (OSError, ExecutorError) as exc:
                with contextlib.suppress(OSError), open(log_path, "a", encoding="utf-8") as f:
                    f.write(log_line(self.store.now(), "ERROR",
                                     f"could not start the process on worker {self.worker_id}: {exc}"))
                code = START_FAILED
            else:
                pending: list[str] = []  # read from the log, not yet in the database
                while not run.done.wait(self.config.stream_interval):
                    pending += streamer.read()
                    if pending and not run.fenced:
                        seq, pos, pending = self._stream(run, seq, pos, pending)
                code = run.code
                texts_before_end = pending
            texts = texts_before_end + streamer.read(final=True)
            if run.fenced:
                return
            outputs = scan(log_path, output_from).to_json() if code == 0 else None
            recorded = self._persist(f"attempt {eid}", lambda: self.store.finish(
                eid, self.worker_id, code, outputs, seq, pos, texts))
            if not recorded:
                log.warning("attempt %s ended with code %s, but an engine had declared it lost meanwhile: "
                            "not recorded", eid, code)
                return
            self._ends.put((eid, time.monotonic()))
        finally:
            with self._lock:
                self._runs.pop(eid, None)
            shutil.rmtree(run_dir, ignore_errors=True)
            with contextlib.suppress(OSError):
                os.unlink(log_path)

    def _stream(self, run: _Run, seq: int, pos: int, texts: list[str]) -> tuple[int, int, list[str]]:
        """Send the chunks read so far; what the database cannot take now (an outage) is kept for
        the next try or the end record: a failed write never ends the attempt."""
        try:
            ok = self.store.append_log(run.execution_id, self.worker_id, seq, pos, texts)
        except Exception as exc:
            if not run.stream_failing:
                log.warning("attempt %s: cannot stream its log to the database (%s); keeping it until it can",
                            run.execution_id, exc)
                run.stream_failing = True
            return seq, pos, texts
        run.stream_failing = False
        if not ok:
            self._fence(run, "an engine declared it lost")
            return seq, pos, []
        return seq + len(texts), pos + sum(len(t.encode("utf-8", "replace")) for t in texts), []

    def _on_exit(self, execution_id: int, code: int | None) -> None:
        with self._lock:
            run = self._runs.get(execution_id)
        if run is not None:
            run.code = code
            run.done.set()

    def _fence(self, run: _Run, why: str) -> None:
        """The run is no longer ours: stop its process at once, record nothing more."""
        if run.fenced:
            return
        run.fenced = True
        log.warning("attempt %s: %s; killing its process", run.execution_id, why)
        if run.handle is not None:
            self.local.kill(run.handle, 0.0)

    # -- control: kill requests, lost runs, heartbeat ------------------------------------------

    def _control_loop(self) -> None:
        last_ok = time.monotonic()
        next_beat = 0.0
        outage = False
        fenced_all = False
        while not self._stopping.wait(self.config.control_interval):
            now = time.monotonic()
            try:
                if now >= next_beat:
                    self._sync_clock()
                    if not self.store.heartbeat(self.worker_id):  # silent for a day: its row was deleted
                        self._register()
                    next_beat = now + self.config.heartbeat_interval
                    last_ok = now
                self._apply_controls()
                if outage:
                    log.info("database reachable again")
                    outage = fenced_all = False
            except Exception as exc:
                if not outage:
                    log.error("database unreachable: %s", exc)
                    outage = True
                if not fenced_all and now - last_ok > self.config.lease / 2:
                    # An engine will declare these runs lost after the lease: stop them first.
                    fenced_all = True
                    with self._lock:
                        runs = list(self._runs.values())
                    for run in runs:
                        self._fence(run, f"no heartbeat recorded for {now - last_ok:.0f} s")

    def _apply_controls(self) -> None:
        with self._lock:
            runs = {eid: r for eid, r in self._runs.items()
                    if r.handle is not None and not r.fenced and not r.done.is_set()}
        if not runs:
            return
        for c in self.store.controls(runs):
            run = runs.get(c.execution_id)
            if run is None or run.handle is None or run.done.is_set():
                continue  # ended meanwhile: its end is being (or has been) recorded
            if c.state != "running":
                self._fence(run, f"its run is {c.state} in the database")
            elif c.kill_requested and not run.kill_sent:
                run.kill_sent = True
                grace = c.kill_grace if c.kill_grace is not None else self.config.kill_grace
                log.info("attempt %s: kill requested; SIGTERM to its process group (SIGKILL after %g s)",
                         run.execution_id, grace)
                self.local.kill(run.handle, grace)
