"""The local executor: each attempt is a subprocess of this host, in its own process group.

Why it looks the way it does:

- The command runs under a tiny ``/bin/sh`` wrapper that writes its pid to ``run_dir/pid``
  first and the command's exit code to ``run_dir/exit`` last (into a file it pre-allocated
  before the command ran, so a full disk cannot lose the code). If the scheduler is killed
  (even with SIGKILL) the attempt keeps running, because it is in its own session and writes
  its output to the log file, not to a pipe of ours. A restarted scheduler finds the process by
  that pid (checking that its command line names the same ``run_dir``, so a recycled pid is
  never mistaken for it), watches it to the end, and reads the exit code from the file.
- Exits are noticed without polling: one thread waits on Linux pidfds (``os.pidfd_open``) with
  epoll, for our own children and for re-attached processes alike; a child is reaped at once
  (no zombies) and its status is reported through the engine's callback within a millisecond.
  Where pidfds are missing the same thread polls every 50 ms instead.
- A kill signals the whole process group (SIGTERM, then SIGKILL after a grace period), so a
  shell script's children go too.
- The command runs inside the isolation decided once at :meth:`LocalExecutor.start`
  (executors/sandbox.py: bubblewrap and/or a run-as user, or none); the wrapper stays outside
  it, so the pid and exit files are written where the task cannot tamper with them. The
  environment is built from scratch, never inherited from the server.
"""

from __future__ import annotations

import contextlib
import logging
import os
import selectors
import signal
import socket
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path

from wedata.executors.base import ExecutorError, ExitCallback, Handle, RunSpec, RunState
from wedata.executors.niceness import nice_prefix, spawning_at
from wedata.executors.sandbox import Sandbox, SandboxSettings, secure_home
from wedata.executors.tasktypes import write_files

log = logging.getLogger("wedata.executor")

SHELL = "/bin/sh"
# $0 is the run directory, $1 the working directory; the command follows as "$@" (after shift).
# The exit file is pre-allocated before the command runs (a blank line as wide as any code) and
# the code is later written over it in place (``1<>``: no truncation), so recording an exit
# status never needs a new disk block: it survives a disk that filled up while the task ran.
WRAPPER = (
    'echo $$ > "$0/pid"; printf \'    \\n\' > "$0/exit"; cd "$1" || exit 126; shift; "$@"; rc=$?; '
    'printf \'%-4s\\n\' $rc 1<> "$0/exit"; exit $rc'
)
_HAS_PIDFD = hasattr(os, "pidfd_open")
# posix_spawn (vfork + exec in glibc) starts a process in about half the time of fork + exec.
_HAS_SPAWN = hasattr(os, "posix_spawn") and hasattr(os, "POSIX_SPAWN_DUP2")


def read_exit_code(run_dir: str) -> int | None:
    try:
        text = Path(run_dir, "exit").read_text().strip()
    except OSError:
        return None
    return int(text) if text.lstrip("-").isdigit() else None


def _process_matches(pid: int, run_dir: str) -> bool:
    """Whether ``pid`` is alive and is the wrapper of ``run_dir`` (not a recycled pid)."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            cmdline = f.read()
    except OSError:
        return False
    return run_dir.encode() in cmdline  # empty for a zombie: not running any more


def _scan_for(run_dir: str) -> int | None:
    """The wrapper process whose command line names ``run_dir`` (slow: recovery only)."""
    needle = run_dir.encode()
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/cmdline", "rb") as f:
                cmdline = f.read()
        except OSError:
            continue
        if cmdline.startswith(SHELL.encode()) and needle in cmdline:
            return int(entry.name)
    return None


def _pid_of(handle: Handle, *, scan: bool = False) -> int | None:
    pid = handle.get("pid")
    if isinstance(pid, int) and pid > 0:
        return pid
    # The handle was stored before the start: the wrapper writes its pid first thing ...
    try:
        text = Path(handle["run_dir"], "pid").read_text().strip()
    except (OSError, KeyError):
        text = ""
    if text.isdigit():
        return int(text)
    # ... unless the scheduler died in the instant between the fork and that write.
    return _scan_for(str(handle["run_dir"])) if scan and "run_dir" in handle else None


def find_wrapper(run_dir: str) -> int | None:
    """The pid of the live wrapper of ``run_dir`` on this host, or None (a worker's guardian)."""
    pid = _pid_of({"run_dir": run_dir}, scan=True)
    return pid if pid is not None and _process_matches(pid, run_dir) else None


def _exit_code(status: int) -> int:
    code = os.waitstatus_to_exitcode(status)
    return 128 - code if code < 0 else code  # killed by signal n -> 128 + n, as shells do


@dataclass
class _Watched:
    execution_id: int
    run_dir: str
    child: bool  # False: re-attached, not our child (its code comes from the exit file)
    pid: int
    fd: int | None = None
    status: int | None = None  # wait status once reaped

    def collect(self) -> int | None:
        if self.child:
            if self.status is None:
                _, self.status = os.waitpid(self.pid, 0)
            return _exit_code(self.status)
        return read_exit_code(self.run_dir)

    def finished(self) -> bool:
        if self.child:
            if self.status is None:
                pid, status = os.waitpid(self.pid, os.WNOHANG)
                if pid:
                    self.status = status
            return self.status is not None
        return not _process_matches(self.pid, self.run_dir)


class LocalExecutor:
    name = "local"

    def __init__(self, sandbox: SandboxSettings | None = None) -> None:
        """``sandbox`` None: no isolation and no refusal (unit tests, tools); the engine always
        passes the server's settings."""
        self._sandbox_settings = sandbox
        self.sandbox: Sandbox | None = None
        self.host = socket.gethostname()
        self._on_exit: ExitCallback | None = None
        self._lock = threading.Lock()
        self._polled: dict[int, _Watched] = {}  # execution_id -> watched without a pidfd
        self._sel = selectors.DefaultSelector()
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        self._sel.register(self._wake_r, selectors.EVENT_READ, None)
        self._thread: threading.Thread | None = None
        self._closed = False

    # -- lifecycle ------------------------------------------------------------------------------

    def start(self, on_exit: ExitCallback) -> None:
        self._resolve_sandbox()
        self._on_exit = on_exit
        self._thread = threading.Thread(target=self._loop, name="wedata-reaper", daemon=True)
        self._thread.start()

    def _resolve_sandbox(self) -> Sandbox:
        """Decide the isolation once (probing bubblewrap); SandboxError if the configured mode
        cannot be provided here."""
        if self.sandbox is None:
            settings = self._sandbox_settings
            self.sandbox = Sandbox.unsandboxed() if settings is None else Sandbox.resolve(settings)
            if settings is not None:
                if self.sandbox.run_as is not None and settings.home:
                    secure_home(settings.home)
                self.sandbox.announce()
        return self.sandbox

    @property
    def isolation(self) -> dict[str, object]:
        return self._resolve_sandbox().describe()

    @property
    def admin_only(self) -> bool:
        """Attempts need ``RunSpec.trusted`` (no isolation here and unisolated runs not allowed)."""
        return self._resolve_sandbox().refuse_untrusted

    def close(self) -> None:
        self._closed = True
        self._wake()
        if self._thread is not None:
            self._thread.join(5)

    def _wake(self) -> None:
        with contextlib.suppress(OSError):
            os.write(self._wake_w, b"x")

    # -- the protocol ---------------------------------------------------------------------------

    def handle_for(self, spec: RunSpec) -> Handle:
        return {"executor": self.name, "host": self.host, "run_dir": spec.run_dir}

    def submit(self, spec: RunSpec) -> Handle:
        sandbox = self._resolve_sandbox()
        refusal = sandbox.refusal(spec)
        if refusal is not None:
            raise ExecutorError(refusal)
        write_files(spec.run_dir, spec.files)  # the run directory, and the attempt's code in it
        sandbox.prepare(spec)
        argv = [SHELL, "-c", WRAPPER, spec.run_dir, spec.cwd, *sandbox.command(spec)]
        nice = self._sandbox_settings.nice if self._sandbox_settings is not None else 0
        argv = [*nice_prefix(nice), *argv]  # `nice` execs the wrapper (where spawning_at cannot do it)
        env = sandbox.environment(spec)
        log_fd = os.open(spec.log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            with spawning_at(nice):  # the whole tree starts at the attempts' nice level (executors/niceness.py)
                if _HAS_SPAWN:
                    # Own session and process group (setsid): killpg reaches the whole tree. Our
                    # descriptors are close-on-exec (PEP 446), so only these three are inherited.
                    pid = os.posix_spawn(argv[0], argv, env, setsid=True, file_actions=[
                        (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
                        (os.POSIX_SPAWN_DUP2, log_fd, 1),
                        (os.POSIX_SPAWN_DUP2, log_fd, 2),
                    ])
                else:  # pragma: no cover - platforms without posix_spawn
                    pid = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log_fd, stderr=log_fd, env=env,
                                           start_new_session=True, close_fds=True).pid
        finally:
            os.close(log_fd)
        self._watch(_Watched(spec.execution_id, spec.run_dir, True, pid))
        return {**self.handle_for(spec), "pid": pid}

    def attach(self, execution_id: int, handle: Handle) -> bool:
        if handle.get("host") not in (None, self.host) or "run_dir" not in handle:
            return False
        pid = _pid_of(handle, scan=True)
        run_dir = str(handle["run_dir"])
        if pid is not None and _process_matches(pid, run_dir):
            self._watch(_Watched(execution_id, run_dir, False, pid))
        else:
            self._report(execution_id, read_exit_code(run_dir))
        return True

    def poll(self, handle: Handle) -> RunState:
        run_dir = str(handle.get("run_dir", ""))
        pid = _pid_of(handle)
        if pid is not None and run_dir and _process_matches(pid, run_dir):
            return RunState(True)
        return RunState(False, read_exit_code(run_dir) if run_dir else None)

    def kill(self, handle: Handle, grace_seconds: float = 3.0) -> None:
        pid = _pid_of(handle, scan=True)
        run_dir = str(handle.get("run_dir", ""))
        if pid is None or not _process_matches(pid, run_dir):
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGTERM)

        def escalate() -> None:
            # The whole group, even when its leader (the wrapper) is gone: a child that ignores
            # SIGTERM outlives the wrapper (ops engineer's fix, tests/actions/ops/test_ops_async.py).
            # ProcessLookupError: the group is empty, everything ended.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGKILL)

        timer = threading.Timer(grace_seconds, escalate)
        timer.daemon = True
        timer.start()

    # -- watching -------------------------------------------------------------------------------

    def _watch(self, w: _Watched) -> None:
        if _HAS_PIDFD:
            try:
                w.fd = os.pidfd_open(w.pid)
            except ProcessLookupError:
                self._report(w.execution_id, w.collect())
                return
            except OSError:
                w.fd = None
        if w.fd is not None:
            with self._lock:
                self._sel.register(w.fd, selectors.EVENT_READ, w)
        else:
            with self._lock:
                self._polled[w.execution_id] = w
            self._wake()

    def _report(self, execution_id: int, code: int | None) -> None:
        if self._on_exit is None:
            return
        try:
            self._on_exit(execution_id, code)
        except Exception:  # the engine must never kill the reaper thread
            log.exception("exit callback failed for execution %s", execution_id)

    def _loop(self) -> None:
        while not self._closed:
            with self._lock:
                timeout = 0.05 if self._polled else None
            for key, _ in self._sel.select(timeout):
                if key.data is None:
                    with contextlib.suppress(BlockingIOError):
                        os.read(self._wake_r, 4096)
                    continue
                w: _Watched = key.data
                with self._lock:
                    self._sel.unregister(key.fd)
                os.close(key.fd)
                self._report(w.execution_id, w.collect())
            if self._polled:
                with self._lock:
                    done = [w for w in self._polled.values() if w.finished()]
                    for w in done:
                        del self._polled[w.execution_id]
                for w in done:
                    self._report(w.execution_id, w.collect())
