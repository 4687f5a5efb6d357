"""``wedata server`` runs its engine in a child process of its own, not in the API's threads.

Why: the engine and the API shared one interpreter lock. Each burst of sandboxed attempts the
engine starts (``os.posix_spawn`` holds the lock while a child starts, and the engine's own
cycle is Python) stalled every request in flight: GetTask's p99 rose from ~10 ms to 40-70 ms
under load (docs/protocol.md, "Mixed load"). As two processes the kernel shares the cores
between them instead.

The parent (:class:`EngineProcess`) and the child (:func:`run_attached`) talk over one
``SOCK_SEQPACKET`` socket pair (private: no name, nothing another process or a task can
reach; messages keep their bounds; a closed end reads as EOF):

- parent -> child: wakes, the same ones the in-process engine took from ``SchedulerApi.notify``
  (``{"p": 1, "t": [task ids]}`` plan these tasks now; ``{"p": 1}`` look at every task;
  ``{}`` instances may be ready). A wake the socket has no room for is dropped: the engine's own
  polls (``plan_interval``, its timers) catch up, as they do for other processes' changes.
- child -> parent: ``{"ready": {isolation fields}, "dispatch": ...}`` once the engine runs,
  ``{"dispatch": "running" | "paused: <why>", "pause": <why> | null}`` when that changes (for
  ``/healthz`` and the reason shown on waiting instances), ``{"error": "..."}`` when it cannot
  start (the server then exits with that message, as it did when the engine ran in process).

The first child is forked from the server once its runtime is built (no import cost, ~0.1 s);
a child that dies later (killed, out of memory) is started again from scratch (``wedata scheduler
--attached FD``), after a pause that doubles up to 30 s while it keeps failing. The child dies
with the server: ``PR_SET_PDEATHSIG`` (SIGKILL, as a kill -9 of a single-process server would
end its engine), and a server that is already gone when the child checks makes it exit.

``WEDATA_ENGINE=thread`` keeps the engine in the API's process (the behaviour before).
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Collection, Sequence
from typing import Any

import msgspec

log = logging.getLogger("wedata.engine_process")

_MAX_MESSAGE = 256 * 1024
# A wake naming more tasks than this asks for a look at every task instead (one message stays
# far below the socket's buffer, and the engine plans at most its batch of named tasks anyway).
_MAX_NAMED = 2000
_STATE_POLL = 0.25  # seconds between the child's checks of its dispatch state
_READY_WAIT = 120.0
_STOP_WAIT = 15.0
_RESTART_MAX = 30.0
_PR_SET_PDEATHSIG = 1
_PARENT_ENV = "WEDATA_ENGINE_PARENT"


class EngineStartError(RuntimeError):
    """The engine process could not start (its own message)."""


def _encode(message: dict[str, Any]) -> bytes:
    return msgspec.json.encode(message)


def _decode(data: bytes) -> dict[str, Any] | None:
    try:
        message = msgspec.json.decode(data)
    except msgspec.DecodeError:
        return None
    return message if isinstance(message, dict) else None


# -- the server's side ------------------------------------------------------------------------------


class EngineProcess:
    """The handle ``SchedulerApi`` holds for an engine that runs in the server's child process:
    the same calls as the in-process engine (``wake``, ``poke``, ``dispatch_pause``), sent over
    the socket, plus what ``/healthz`` shows (``isolation``, ``dispatch_state``)."""

    remote = True  # SchedulerApi.engine_here: its transitions are not seen in this process

    def __init__(self, runtime: Any, child_env: dict[str, str]) -> None:
        self.runtime = runtime
        self.child_env = child_env  # the settings the command line overrode, for a restarted child
        self.isolation: dict[str, Any] | None = None
        self.dispatch_state: str = "starting"
        self._pause: str | None = None
        self._sock: socket.socket | None = None
        self._child: subprocess.Popen[bytes] | int | None = None
        self._ready = threading.Event()
        self._error: str | None = None
        self._stopping = threading.Event()
        self._monitor: threading.Thread | None = None
        self._backoff = 1.0  # seconds before the next restart of a child that died

    # -- SchedulerApi's engine calls --------------------------------------------------------------

    def wake(self, *, plan: bool = False, tasks: Collection[str] = ()) -> None:
        message: dict[str, Any] = {}
        if plan:
            message["p"] = 1
            if tasks and len(tasks) <= _MAX_NAMED:
                message["t"] = list(tasks)
        self._send(_encode(message))

    def poke(self) -> None:
        self._send(b"{}")

    def is_engine_thread(self) -> bool:
        return False

    def dispatch_pause(self) -> str | None:
        return self._pause

    @property
    def pid(self) -> int | None:
        child = self._child
        return child.pid if isinstance(child, subprocess.Popen) else child

    def _send(self, data: bytes) -> None:
        sock = self._sock
        if sock is None:
            return
        # Never waits (an API thread sends this): when the socket is full, or the child is being
        # restarted, the wake is dropped and the engine's polls catch up (see the docstring).
        with contextlib.suppress(OSError):
            sock.send(data, socket.MSG_DONTWAIT)

    # -- lifecycle ----------------------------------------------------------------------------------

    def start(self, *, inherited: Sequence[socket.socket] = (), child_setup: Callable[[], None] | None = None) -> None:
        """Fork the first child and wait until its engine runs (EngineStartError if it cannot).
        ``inherited``: the server's sockets the child must not keep open (the listening port);
        ``child_setup``: run first in the child (its logging)."""
        if threading.active_count() > 1:
            self._spawn()  # forking a process that runs threads is not safe: start it from scratch
        else:
            self._fork(inherited, child_setup)
        self._monitor = threading.Thread(target=self._watch, name="wedata-engine-process", daemon=True)
        self._monitor.start()
        if not self._ready.wait(_READY_WAIT):
            self.stop()
            raise EngineStartError(f"the engine process did not start within {_READY_WAIT:g} s")
        if self._error is not None:
            self.stop()
            raise EngineStartError(self._error)

    def _fork(self, inherited: Sequence[socket.socket], child_setup: Callable[[], None] | None) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        sys.stdout.flush()
        sys.stderr.flush()
        server = os.getpid()
        pid = os.fork()
        if pid == 0:  # the child: never returns into the server's code
            code = 1
            try:
                ours.close()
                for s in inherited:
                    s.close()
                _become_child(server)
                if child_setup is not None:
                    child_setup()
                self.runtime.db.engine.dispose(close=False)  # the server's connections stay its own
                code = run_attached(self.runtime, theirs)
            except BaseException:  # noqa: BLE001 (whatever happens, this process must not go on)
                log.exception("the engine process failed")
            finally:
                os._exit(code)
        theirs.close()
        self._sock, self._child = ours, pid

    def stop(self) -> None:
        """End the child (SIGTERM: it stops its engine; running attempts go on, as on any stop)
        and wait for it; SIGKILL after ``_STOP_WAIT`` seconds."""
        self._stopping.set()
        monitor = self._monitor
        for sig in (signal.SIGTERM, signal.SIGKILL):
            pid = self.pid
            if pid is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, sig)
            if monitor is None or monitor is threading.current_thread():
                break
            monitor.join(_STOP_WAIT)
            if not monitor.is_alive():
                break
            log.warning("the engine process %s did not stop within %g s; killing it", pid, _STOP_WAIT)
        if self._sock is not None:
            self._sock.close()

    def _watch(self) -> None:
        """The monitor: reads the child's messages, reaps it when it ends and, unless the server
        is stopping, starts another."""
        while True:
            sock = self._sock
            if sock is not None:
                self._read(sock)
            pid, code = self.pid, self._reap()
            # A clean exit: it got the SIGTERM or Ctrl-C its process group got, and the server's
            # own shutdown (which sets _stopping) is on its way; restart it only if not.
            if self._stopping.wait(_STOP_WAIT if code == 0 else 0):
                return
            if not self._ready.is_set():  # it never started: the server reports why
                self._error = self._error or f"the engine process exited with {code} before its engine started"
                self._ready.set()
                return
            self.dispatch_state = "restarting"
            log.error("the engine process %s exited (%s); starting another in %g s", pid, code, self._backoff)
            if self._stopping.wait(self._backoff):
                return
            self._backoff = min(self._backoff * 2, _RESTART_MAX)
            self._spawn()

    def _reap(self) -> int | None:
        child, self._child = self._child, None
        if isinstance(child, subprocess.Popen):
            return child.wait()
        if child is None:
            return None
        try:
            _, status = os.waitpid(child, 0)
        except ChildProcessError:
            return None
        return os.waitstatus_to_exitcode(status)

    def _read(self, sock: socket.socket) -> None:
        while True:
            try:
                data = sock.recv(_MAX_MESSAGE)
            except OSError:
                return
            if not data:
                return  # EOF: the child is gone
            message = _decode(data)
            if message is None:
                continue
            if "error" in message:
                self._error = str(message["error"])
                self._ready.set()
            if "dispatch" in message:
                self.dispatch_state = str(message["dispatch"])
                pause = message.get("pause")
                self._pause = str(pause) if pause else None
            if "ready" in message:
                ready = message["ready"]
                self.isolation = ready if isinstance(ready, dict) and ready else None
                if self._ready.is_set():  # a restarted child
                    log.warning("the engine process %s runs again", self.pid)
                    self._backoff = 1.0
                self._ready.set()

    def _spawn(self) -> None:
        """A new child from scratch (``wedata scheduler --attached FD``): a restart, when this
        process runs threads and a fork would not be safe. When it cannot even be started, the
        monitor's next round tries again (or, at the server's start, reports it)."""
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        env = {**os.environ, **self.child_env, _PARENT_ENV: str(os.getpid())}
        old = self._sock
        try:
            child = subprocess.Popen(
                [sys.executable, "-m", "wedata.cli.main", "scheduler", "--attached", str(theirs.fileno())],
                pass_fds=[theirs.fileno()], env=env, stdin=subprocess.DEVNULL,
            )
        except OSError as exc:
            log.error("the engine process could not be started: %s", exc)
            ours.close()
            self._sock = None
        else:
            self._sock, self._child = ours, child
        finally:
            theirs.close()
            if old is not None:
                old.close()


# -- the child's side -------------------------------------------------------------------------------


def _become_child(parent: int) -> None:
    """Die with the server (kill -9 included), and stop on SIGTERM/SIGINT like `wedata scheduler`."""
    # Not on Linux: the server's closed socket still ends the child (_listen).
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:  # the server died before the line above
        os._exit(0)


def attach_child(fd: int) -> socket.socket:
    """For ``wedata scheduler --attached FD`` (a restarted child): the socket, and the same rules
    as a forked child."""
    parent = int(os.environ.get(_PARENT_ENV, "0"))
    _become_child(parent)
    return socket.socket(fileno=fd)


def run_attached(runtime: Any, sock: socket.socket) -> int:
    """Run the engine until SIGTERM/SIGINT or until the server closes its end. Returns the exit
    code."""
    from wedata.app import start_engine, stop_engine

    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    try:
        engine = start_engine(runtime, own_process=True)
    except Exception as exc:
        log.error("the engine could not start: %s", exc)
        _tell(sock, {"error": str(exc)})
        return 1
    isolation = getattr(engine.executor, "isolation", None)
    state = engine.dispatch_state
    _tell(sock, {"ready": isolation or {}, "dispatch": state, "pause": engine.dispatch_pause()})
    listener = threading.Thread(target=_listen, args=(sock, runtime.services.scheduler, stop),
                                name="wedata-engine-wakes", daemon=True)
    listener.start()
    try:
        while not stop.wait(_STATE_POLL):
            now = engine.dispatch_state
            if now != state:
                state = now
                _tell(sock, {"dispatch": now, "pause": engine.dispatch_pause()})
    finally:
        stop_engine(runtime)
        runtime.db.dispose()
    return 0


def _tell(sock: socket.socket, message: dict[str, Any]) -> None:
    # Never waits: the server reads all the time; when it is gone the listener sees EOF and stops.
    with contextlib.suppress(OSError):
        sock.send(_encode(message), socket.MSG_DONTWAIT)


def _listen(sock: socket.socket, scheduler: Any, stop: threading.Event) -> None:
    """The server's wakes, handed to this process's ``SchedulerApi.notify`` as if they were made
    here (it wakes the engine, and caches that depend on changes elsewhere see them)."""
    from wedata.scheduler.api import Change

    while not stop.is_set():
        try:
            data = sock.recv(_MAX_MESSAGE)
        except OSError:
            data = b""
        if not data:
            log.info("the server closed the engine's socket; stopping")
            stop.set()
            return
        message = _decode(data)
        if message is None:
            continue
        tasks = message.get("t")
        named = [t for t in tasks if isinstance(t, str)] if isinstance(tasks, list) else []
        scheduler.notify(Change.TASKS if message.get("p") else Change.INSTANCES, named)


__all__ = ["EngineProcess", "EngineStartError", "attach_child", "run_attached"]
