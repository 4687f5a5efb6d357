"""The Executor protocol: how the engine starts, watches and stops one attempt of an instance.

An executor turns a :class:`RunSpec` (argv, environment, working directory, log file) into a
running process somewhere and returns a **handle**: a JSON-able dict the engine stores in
``instance_executions.handle``. The handle must be enough, in another process after a restart,
to ask whether the attempt still runs, to learn its exit code, and to kill it. That is what lets
the engine lose nothing when it is killed: state lives in the database and the handle.

Completion is pushed: the engine registers one ``on_exit(execution_id, exit_code)`` callback
(``exit_code`` None = the process vanished without reporting one, e.g. killed with SIGKILL while
nobody watched). ``poll`` is the pull fallback the engine's safety sweep uses.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from wedata.executors.sql.contract import SqlJob

Handle = dict[str, Any]
ExitCallback = Callable[[int, int | None], None]


@dataclass(frozen=True)
class StagedResource:
    """A resource file an attempt needs, staged read-only as ``<run_dir>/resources/<name>``
    before it starts (scheduler/staging.py): its content (sha256) and where it is stored."""

    name: str
    sha256: str
    size: int
    store: str  # local | s3
    bucket: str
    key: str


@dataclass(frozen=True)
class RunSpec:
    execution_id: int
    argv: list[str]
    cwd: str
    log_path: str  # stdout and stderr are appended here, so they are streamed and survive us
    run_dir: str  # private scratch directory of this attempt (code file, pid and exit files)
    # The task's own variables (WEDATA_INSTANCE_KEY ...); the executor adds PATH, HOME, LANG ...
    # from scratch (executors/sandbox.py), never the server's environment.
    env: Mapping[str, str] = field(default_factory=dict)
    resource_group: str | None = None
    # Whether every user whose input makes up this task is a tenant admin (None: not looked up).
    # A server without task isolation runs only trusted attempts (executors/sandbox.py).
    trusted: bool | None = None
    # A SQL task's attempt (types 21, 23, 134, 32): no command; the SQL executor runs the job
    # (executors/sql_tasks.py) and ``argv`` is empty.
    sql: SqlJob | None = None
    # Resource files to stage into ``<run_dir>/resources/`` before the start (Shell, Python).
    resources: tuple[StagedResource, ...] = ()
    # The attempt's own files (its code, helper scripts), name -> text: written into ``run_dir``
    # by the executor that starts it, off the engine's cycle (executors/tasktypes.py Command).
    files: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RunState:
    """What ``poll`` reports: still running, exited with a code, or lost (gone, code unknown)."""

    running: bool
    exit_code: int | None = None

    @property
    def lost(self) -> bool:
        return not self.running and self.exit_code is None


class Executor(Protocol):
    name: str

    def start(self, on_exit: ExitCallback) -> None:
        """Begin watching; ``on_exit`` is called from the executor's own thread."""
        ...

    def handle_for(self, spec: RunSpec) -> Handle:
        """The handle as far as it is known before ``submit`` (stored with the attempt before it
        starts, so a crash between start and bookkeeping still leaves a way to find it)."""
        ...

    def submit(self, spec: RunSpec) -> Handle:
        """Start the attempt; raise OSError (or ExecutorError) if it cannot be started."""
        ...

    def attach(self, execution_id: int, handle: Handle) -> bool:
        """Watch an attempt started by an earlier process. False if it cannot be reached."""
        ...

    def poll(self, handle: Handle) -> RunState: ...

    def kill(self, handle: Handle, grace_seconds: float = 3.0) -> None:
        """Stop the attempt (its whole process tree); its exit is then reported as usual."""
        ...

    def close(self) -> None:
        """Stop watching. Running attempts are left alone (a restart re-attaches them)."""
        ...


class ExecutorError(Exception):
    """The attempt could not be started (bad interpreter, unsupported task type, ...)."""
