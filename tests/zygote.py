"""Test servers forked from an interpreter that has already imported the server.

A `wedata server` process spends ~1.3 s of CPU importing its modules before it does anything
(Python 3.11, this machine), and the suite starts over a hundred of them. The zygote is one
process per test process that imports `wedata.app` and the CLI once, then forks a child for each
server start: the child becomes a session leader, takes the server's environment, working
directory and log file, and runs the same `wedata server ...` command line through the CLI's
`main`, as `python -m wedata.cli.main server ...` would. What differs from an exec'd server is
only what the import did before the fork (no module reads the environment at import time).

The zygote is single-threaded (forking a process with threads could copy a held lock), reaps its
children as they exit (no zombie looks alive to a test that checks a pid) and keeps their exit
codes for ``ForkedProcess.poll``. It exits when its test process closes the socket, killing the
process groups of the children still alive (a test process killed mid-run leaves no server).

tests/support.py ``ServerProcess`` uses it unless ``forked=False``: the session-wide servers and
the first-start and security tests still run the command as a new machine would.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from typing import Any

# ------------------------------------------------------------------------------------------------
# The test process's side


class Zygote:
    """The client of one zygote process (started at first use; one per test process)."""

    def __init__(self, python: str, cwd: str, env: dict[str, str]) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        self.proc = subprocess.Popen(
            [python, "-u", "-c", f"import tests.zygote as z; z.serve({theirs.fileno()})"],
            cwd=cwd, env=env, pass_fds=[theirs.fileno()], stdin=subprocess.DEVNULL,
        )
        theirs.close()
        self.sock = ours
        self.file = ours.makefile("rwb")
        self.lock = threading.Lock()  # one request at a time (a test may start servers from threads)
        if self._ask({"op": "ping"}) != {"ok": True}:
            raise RuntimeError("the test zygote did not start")

    def _ask(self, request: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            self.file.write(json.dumps(request).encode() + b"\n")
            self.file.flush()
            line = self.file.readline()
        if not line:
            raise RuntimeError(f"the test zygote exited (code {self.proc.poll()})")
        answer: dict[str, Any] = json.loads(line)
        if "error" in answer:
            raise RuntimeError(f"the test zygote failed: {answer['error']}")
        return answer

    def spawn(self, argv: list[str], env: dict[str, str], cwd: str, log_path: str) -> ForkedProcess:
        pid = int(self._ask({"op": "spawn", "argv": argv, "env": env, "cwd": cwd, "log": log_path})["pid"])
        return ForkedProcess(self, pid, argv)

    def status(self, pid: int) -> int | None:
        code = self._ask({"op": "status", "pid": pid})["code"]
        return None if code is None else int(code)


class ForkedProcess:
    """What the suite uses of ``subprocess.Popen`` for a server the zygote forked."""

    def __init__(self, zygote: Zygote, pid: int, args: list[str]) -> None:
        self.zygote = zygote
        self.pid = pid
        self.args = args
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            self.returncode = self.zygote.status(self.pid)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if deadline is not None and time.monotonic() > deadline:
                raise subprocess.TimeoutExpired(self.args, timeout or 0)
            time.sleep(0.02)
        assert self.returncode is not None
        return self.returncode

    def send_signal(self, sig: int) -> None:
        if self.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, sig)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)


# ------------------------------------------------------------------------------------------------
# The zygote process


_codes: dict[int, int] = {}  # exit codes of reaped children (negative: killed by that signal)
_alive: set[int] = set()


def _reap(*_: Any) -> None:
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        _alive.discard(pid)
        _codes[pid] = os.waitstatus_to_exitcode(status)


# What a server's start imports beyond `wedata.app` and the CLI (measured: ~300 modules, about
# a third of a forked server's CPU before it answers /healthz): the schema check (alembic, with
# mako and pygments), the action and console modules loaded by name, uvicorn's parts chosen at
# run time, the engine process. A name that no longer imports is skipped: the child imports what
# it needs anyway, this only saves each child the work.
_PRELOAD = (
    "wedata.storage.migrate", "wedata.storage.schema", "wedata.cli.engine_process", "wedata.spec.v20210820",
    "uvicorn.main", "uvicorn.server", "uvicorn.lifespan.on", "uvicorn.loops.uvloop",
    "uvicorn.protocols.http.httptools_impl", "uvicorn.protocols.websockets.auto",
    "uvicorn.protocols.websockets.websockets_sansio_impl", "uvicorn.middleware.proxy_headers",
    "uvicorn.supervisors.multiprocess", "uvicorn.supervisors.watchfilesreload",
    "cron_descriptor", "sqlite3", "logging.config", "logging.handlers", "multiprocessing.connection",
    "sqlalchemy.ext.compiler", "tomllib",
)


def _preload() -> None:
    import importlib
    import pkgutil

    from wedata.actions.registry import load_actions

    load_actions()
    import wedata.console.pages as pages

    names = [*_PRELOAD, *(m.name for m in pkgutil.walk_packages(pages.__path__, pages.__name__ + "."))]
    for name in names:
        with contextlib.suppress(ImportError):
            importlib.import_module(name)


def serve(fd: int) -> None:
    """The zygote's loop: import the server once, then fork one child per request."""
    import wedata.app  # noqa: F401  (the point: every child starts with it imported)
    import wedata.cli.admin  # noqa: F401
    import wedata.cli.main  # noqa: F401

    _preload()
    # What is imported lives as long as every child: out of the collector's sight (CPython's
    # advice for a parent that forks without exec), so a child's collections, the server's own
    # at its start among them (app.freeze_startup_heap), neither walk nor copy it.
    gc.collect()
    gc.freeze()

    sock = socket.socket(fileno=fd)
    file = sock.makefile("rwb")
    signal.signal(signal.SIGCHLD, _reap)
    try:
        for line in file:
            request = json.loads(line)
            try:
                answer = _handle(request, sock)
            except Exception as exc:  # answered, not raised: the test shows it
                answer = {"error": f"{type(exc).__name__}: {exc}"}
            file.write(json.dumps(answer).encode() + b"\n")
            file.flush()
    finally:
        for pid in list(_alive):
            with contextlib.suppress(OSError):
                os.killpg(pid, signal.SIGKILL)


def _handle(request: dict[str, Any], sock: socket.socket) -> dict[str, Any]:
    op = request["op"]
    if op == "ping":
        return {"ok": True}
    if op == "status":
        _reap()
        return {"code": _codes.get(int(request["pid"]))}
    if op == "spawn":
        # Blocked while forking, so that the handler cannot run in the child before it resets it.
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGCHLD})
        try:
            pid = os.fork()
            if pid == 0:
                _child(request, sock)  # never returns
            _alive.add(pid)
        finally:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGCHLD})
        return {"pid": pid}
    raise ValueError(f"unknown request {op!r}")


def _child(request: dict[str, Any], sock: socket.socket) -> None:
    code = 1
    try:
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGCHLD})
        os.close(sock.detach())  # the zygote's end of its socket is not the server's
        os.setsid()  # its own process group, as Popen(start_new_session=True)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        log = os.open(request["log"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.dup2(log, 1)
        os.dup2(log, 2)
        os.close(log)
        os.close(null)
        argv = request["argv"]
        sys.argv = ["wedata", *argv]
        from wedata.cli.main import main

        try:
            main(args=argv, prog_name="wedata")
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException:  # noqa: BLE001  (the child must end here, whatever happened)
        import traceback

        traceback.print_exc()
    finally:
        with contextlib.suppress(OSError):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code if 0 <= code < 256 else 1)

