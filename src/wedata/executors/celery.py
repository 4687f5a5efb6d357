"""The Celery executor: attempts of remote resource groups run on ``wedata worker`` processes.

The engine's side of remote runs, behind the same ``Executor`` protocol as the local executor
(docs/workers.md has the whole design; the worker's side is executors/worker.py):

- ``handle_for`` (at the claim, inside the engine's transaction): the handle names the group's
  queue, a fresh fencing token and the packed ``RunSpec`` (executors/remote.py); it is stored
  with the attempt, so the attempt is fully described in the database before anything is sent.
- ``submit``: queue the message ``(execution id, token)`` for the group's queue. A publisher
  thread sends it (the engine's loop never waits for the broker); while the broker is down it
  keeps the message and tries again every second, and the attempt stays RUNNING meanwhile.
- Ends: a worker records the exit (and the outputs it scanned) in ``remote_runs`` and announces
  it on the fanout exchange; the watcher thread here reads the database for the attempts it
  watches on each announcement and at least every ``poll_interval``, and reports each end
  through the engine's callback, as the local executor's reaper does.
- Liveness: a running attempt whose worker stopped, or whose heartbeat has not changed for
  ``lease`` seconds *of this process's clock* (a worker's wrong clock does not matter), is
  declared lost in the database (which fences the worker out) and reported without an exit
  code: the engine retries it per its policy.
- ``kill``: a kill request in the database; the worker polls its runs every half second and
  kills the process group as the local executor would. An attempt no worker has taken yet is
  marked killed (so none ever will) and reported ended at once.
- ``attach`` (after an engine restart): watch it again; if no worker has taken it, send its
  message again (a second delivery of a message is harmless: the worker's claim is fenced).

:class:`RemoteGroups` puts it beside the engine's own executor: an attempt whose resource group
is remote and which is a command (not a SQL job, which runs in the engine) goes here.
"""

from __future__ import annotations

import contextlib
import logging
import queue as queue_mod
import socket
import threading
import time
import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from wedata.executors.base import Executor, ExecutorError, ExitCallback, Handle, RunSpec, RunState
from wedata.executors.celeryapp import ends_queue, make_app
from wedata.executors.remote import EXECUTOR, TASK_NAME, EngineStore, pack_spec, queue_name

log = logging.getLogger("wedata.executor.celery")

_ENDED_STATES = ("ended", "lost", "killed")


class CeleryExecutor:
    name = EXECUTOR

    def __init__(self, store: EngineStore, broker_url: str, *, lease: float = 30.0,
                 visibility_timeout: float = 300.0, poll_interval: float = 1.0) -> None:
        self.store = store
        self.app = make_app(broker_url, visibility_timeout=visibility_timeout)
        self.lease = lease
        self.poll_interval = poll_interval
        # A message no worker took for this long may have been lost by the broker (a Redis
        # restart without persistence): send it again (a second delivery is dropped by the claim).
        self.resend_after = max(visibility_timeout, 10.0)
        self._on_exit: ExitCallback | None = None
        self._lock = threading.Lock()
        self._watched: dict[int, tuple[str, str]] = {}  # execution id -> (token, queue)
        self._queued_since: dict[int, float] = {}  # watched, and no worker has taken it yet
        self._resent_for: dict[int, set[str]] = {}  # untaken attempt -> dead workers it was sent again for
        self._by_token: dict[str, int] = {}
        self._pending_handles: dict[str, Handle] = {}  # run_dir -> handle made at the claim
        self._beats: dict[str, tuple[datetime | None, float]] = {}  # worker -> (heartbeat, since)
        self._outbox: queue_mod.Queue[tuple[str, int, str] | None] = queue_mod.Queue()
        self._woken: set[int] = set()
        self._wake = threading.Event()
        self._closed = threading.Event()
        self._threads: list[threading.Thread] = []

    # -- lifecycle ------------------------------------------------------------------------------

    def start(self, on_exit: ExitCallback) -> None:
        self._on_exit = on_exit
        for target, name in ((self._publish_loop, "wedata-celery-publish"), (self._watch_loop, "wedata-celery-watch"),
                             (self._listen_loop, "wedata-celery-listen")):
            t = threading.Thread(target=target, name=name, daemon=True)
            t.start()
            self._threads.append(t)

    def close(self) -> None:
        self._closed.set()
        self._outbox.put(None)
        self._wake.set()
        for t in self._threads:
            t.join(5)

    # -- the protocol ---------------------------------------------------------------------------

    def handle_for(self, spec: RunSpec) -> Handle:
        group = spec.resource_group or ""
        handle: Handle = {"executor": self.name, "queue": queue_name(group), "token": uuid.uuid4().hex,
                          "run_dir": spec.run_dir}
        try:
            handle["spec"] = pack_spec(spec)
        except (OSError, ExecutorError) as exc:
            handle["error"] = f"cannot pack the attempt for a worker: {exc}"
        with self._lock:
            self._pending_handles[spec.run_dir] = handle
        return handle

    def submit(self, spec: RunSpec) -> Handle:
        with self._lock:
            handle = self._pending_handles.pop(spec.run_dir, None)
        if handle is None:  # a caller that stored no handle first: nothing a worker could run
            raise ExecutorError("the attempt's handle was not stored before its start")
        if "error" in handle:
            raise ExecutorError(str(handle["error"]))
        handle = {**handle, "execution_id": spec.execution_id}
        self._watch(spec.execution_id, handle["token"], handle["queue"])
        self._outbox.put((handle["queue"], spec.execution_id, handle["token"]))
        return handle

    def attach(self, execution_id: int, handle: Handle) -> bool:
        token = handle.get("token")
        if not isinstance(token, str) or "queue" not in handle:
            return False
        self._watch(execution_id, token, str(handle["queue"]))
        (row,) = self.store.runs([execution_id])
        if row.state is None:
            # No worker took it: the message may never have been sent (the engine died between
            # the claim and the send). Send it (again): a second delivery is dropped by the claim.
            self._outbox.put((str(handle["queue"]), execution_id, token))
        self._wake.set()
        return True

    def poll(self, handle: Handle) -> RunState:
        eid = self._eid(handle)
        if eid is None:
            return RunState(False, None)
        (row,) = self.store.runs([eid])
        if row.state in _ENDED_STATES:
            return RunState(False, row.exit_code if row.state == "ended" else None)
        return RunState(True)

    def kill(self, handle: Handle, grace_seconds: float = 3.0) -> None:
        eid = self._eid(handle)
        token = handle.get("token")
        if eid is None or not isinstance(token, str):
            return
        state = self.store.request_kill(eid, token, grace_seconds)
        if state == "killed":  # no worker had taken it: it never ran, and now never will
            self._report(eid, None)

    # -- bookkeeping ----------------------------------------------------------------------------

    def _eid(self, handle: Handle) -> int | None:
        eid = handle.get("execution_id")
        if isinstance(eid, int):
            return eid
        with self._lock:
            return self._by_token.get(str(handle.get("token")))

    def _watch(self, execution_id: int, token: str, queue: str) -> None:
        with self._lock:
            self._watched[execution_id] = (token, queue)
            self._by_token[token] = execution_id
            self._queued_since.setdefault(execution_id, time.monotonic())

    def _report(self, execution_id: int, code: int | None) -> None:
        with self._lock:
            watched = self._watched.pop(execution_id, None)
            self._queued_since.pop(execution_id, None)
            self._resent_for.pop(execution_id, None)
            if watched is None:
                return  # reported already
            self._by_token.pop(watched[0], None)
        if self._on_exit is not None:
            try:
                self._on_exit(execution_id, code)
            except Exception:
                log.exception("exit callback failed for execution %s", execution_id)

    # -- threads --------------------------------------------------------------------------------

    def _publish_loop(self) -> None:
        failing_since: float | None = None
        while True:
            item = self._outbox.get()
            if item is None:
                return
            q, eid, token = item
            while not self._closed.is_set():
                try:
                    self.app.send_task(TASK_NAME, args=[eid, token], queue=q, routing_key=q, retry=False)
                except Exception as exc:
                    if failing_since is None:
                        failing_since = time.monotonic()
                        log.error("cannot send attempts to the broker (%s); trying again every second", exc)
                    self._closed.wait(1.0)
                    continue
                if failing_since is not None:
                    log.info("the broker takes attempts again after %.0f s", time.monotonic() - failing_since)
                    failing_since = None
                break

    def _listen_loop(self) -> None:
        """End announcements from the workers: each one wakes the watcher at once."""
        name = f"wedata.ends.{socket.gethostname()[:40]}.{uuid.uuid4().hex[:12]}"
        failed = False
        while not self._closed.is_set():
            try:
                with self.app.connection_for_read() as conn:
                    conn.ensure_connection(max_retries=1)
                    with conn.Consumer([ends_queue(name)], callbacks=[self._on_announce], accept=["json"],
                                       no_ack=True):
                        if failed:
                            log.info("listening to end announcements again")
                            failed = False
                        while not self._closed.is_set():
                            with contextlib.suppress(TimeoutError, socket.timeout):
                                conn.drain_events(timeout=0.5)
            except Exception as exc:
                if not failed:
                    log.warning("cannot listen to end announcements (%s); polling the database meanwhile", exc)
                    failed = True
                self._closed.wait(1.0)

    def _on_announce(self, body: Any, message: Any) -> None:
        eid = body.get("execution_id") if isinstance(body, dict) else None
        if isinstance(eid, int):
            with self._lock:
                if eid not in self._watched:
                    return
                self._woken.add(eid)
            self._wake.set()

    def _watch_loop(self) -> None:
        next_full = 0.0
        while not self._closed.is_set():
            self._wake.wait(self.poll_interval)
            self._wake.clear()
            with self._lock:
                woken, self._woken = self._woken, set()
                watched = list(self._watched)
            now = time.monotonic()
            full = now >= next_full
            ids: Iterable[int] = watched if full else [e for e in woken if e in set(watched)]
            if full:
                next_full = now + self.poll_interval
            try:
                self._check(list(ids), now, full)
            except Exception as exc:
                log.warning("cannot read the remote attempts' states: %s", exc)
                self._closed.wait(1.0)

    def _check(self, ids: list[int], now: float, full: bool = True) -> None:
        if not ids:
            return
        untaken: list[int] = []
        for row in self.store.runs(ids):
            if row.state is None:
                untaken.append(row.execution_id)
                self._maybe_resend(row.execution_id, now)
            elif row.state == "ended":
                self._report(row.execution_id, row.exit_code)
            elif row.state in ("lost", "killed"):
                self._report(row.execution_id, None)
            elif (row.state == "running" and self._dead(row.worker_id, row.heartbeat_at, row.worker_stopped, now)
                  and self.store.declare_lost(row.execution_id, row.worker_id)):
                log.warning("worker %s is gone (no heartbeat for %.0f s): attempt %s is lost",
                            row.worker_id, self.lease, row.execution_id)
                self._report(row.execution_id, None)
        if full and untaken:
            self._resend_what_the_dead_held(untaken, now)

    def _resend_what_the_dead_held(self, untaken: list[int], now: float) -> None:
        """A worker killed after the broker delivered it a message and before it took the attempt
        (its claim) holds the message unacknowledged: Redis delivers it again only after the
        visibility timeout (minutes). So when a worker of an attempt's queue is found dead (its
        heartbeat unchanged for the lease) and may have been alive when the attempt was sent, the
        attempt is sent again at once, once per such worker; the claim drops whichever delivery
        comes second."""
        with self._lock:
            waiting = {eid: (*self._watched[eid], self._queued_since[eid]) for eid in untaken
                       if eid in self._watched and eid in self._queued_since}
        if not waiting:
            return
        dead: list[tuple[str, frozenset[str], float]] = []
        for w in self.store.workers():
            if self._dead(w.worker_id, w.heartbeat_at, False, now):
                dead.append((w.worker_id, frozenset(queue_name(g) for g in w.groups), self._beats[w.worker_id][1]))
        for eid, (token, queue, since) in waiting.items():
            for worker, queues, last_change in dead:
                # Its heartbeat last changed less than a lease before the attempt was sent: it
                # may have been alive to receive it (it beats at least four times a lease).
                if queue not in queues or last_change < since - self.lease:
                    continue
                with self._lock:
                    done = self._resent_for.setdefault(eid, set())
                    if worker in done or eid not in self._watched:
                        continue
                    done.add(worker)
                log.warning("attempt %s: worker %s, which may have held its message, is gone; sending it again",
                            eid, worker)
                self._outbox.put((queue, eid, token))

    def _maybe_resend(self, execution_id: int, now: float) -> None:
        with self._lock:
            since = self._queued_since.setdefault(execution_id, now)
            watched = self._watched.get(execution_id)
            if watched is None or now - since < self.resend_after:
                return
            self._queued_since[execution_id] = now
        log.warning("attempt %s: no worker took it for %.0f s; sending it again", execution_id, now - since)
        self._outbox.put((watched[1], execution_id, watched[0]))

    def _dead(self, worker: str | None, beat: datetime | None, stopped: bool, now: float) -> bool:
        if worker is None or stopped:
            return True
        last = self._beats.get(worker)
        if last is None or last[0] != beat:
            self._beats[worker] = (beat, now)
            return False
        return now - last[1] > self.lease


class RemoteGroups:
    """The engine's executor with remote resource groups: commands of those groups go to
    :class:`CeleryExecutor`, everything else (and every handle it did not make) to ``inner``."""

    def __init__(self, inner: Executor, remote: CeleryExecutor, groups: Iterable[str]) -> None:
        self.inner = inner
        self.remote = remote
        self.groups = frozenset(groups)
        self.name = inner.name

    def runs_remotely(self, spec: RunSpec) -> bool:
        group = spec.resource_group
        if not group or not spec.argv or getattr(spec, "sql", None) is not None:
            return False
        return "*" in self.groups or group in self.groups

    def _for(self, handle: Handle) -> Executor:
        return self.remote if handle.get("executor") == EXECUTOR else self.inner

    def start(self, on_exit: ExitCallback) -> None:
        self.inner.start(on_exit)
        self.remote.start(on_exit)

    def handle_for(self, spec: RunSpec) -> Handle:
        return self.remote.handle_for(spec) if self.runs_remotely(spec) else self.inner.handle_for(spec)

    def submit(self, spec: RunSpec) -> Handle:
        return self.remote.submit(spec) if self.runs_remotely(spec) else self.inner.submit(spec)

    def attach(self, execution_id: int, handle: Handle) -> bool:
        return self._for(handle).attach(execution_id, handle)

    def poll(self, handle: Handle) -> RunState:
        return self._for(handle).poll(handle)

    def kill(self, handle: Handle, grace_seconds: float = 3.0) -> None:
        self._for(handle).kill(handle, grace_seconds)

    def close(self) -> None:
        self.remote.close()
        self.inner.close()

    @property
    def isolation(self) -> dict[str, object] | None:
        return getattr(self.inner, "isolation", None)

    @property
    def admin_only(self) -> bool:
        # A worker without isolation refuses untrusted attempts as this server would: it needs
        # to know whether the task's users are all admins, so it is always looked up.
        return True
