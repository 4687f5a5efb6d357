"""What the engine side (celery.py) and the worker side (worker.py) of remote runs share.

- Names: the executor's name in handles and ``instance_executions.executor`` (``celery``), a
  resource group's queue (``wedata.rg.<group id>``), the Celery task's name, the fanout exchange
  a worker announces ends on.
- The attempt's handle, built by the engine at the claim and stored with the attempt in the
  same transaction: the queue, the fencing token, and the whole ``RunSpec`` *packed*: argv,
  environment, trust, and the files the engine's task type wrote into its run directory (the
  code file; executors/tasktypes.py), since the worker's machine has not got them. The worker
  unpacks it into a run directory of its own and rewrites the argv paths that pointed into the
  engine's. The message on the broker carries only the execution id and the token: the worker
  runs what the database says, so someone who can publish on the broker cannot make a worker
  run anything (docs/workers.md, security).
- The stores the two sides are given (protocols; ``storage/remote_runs.py`` provides them:
  ``executors/`` does not import ``storage/``).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from wedata.executors.base import ExecutorError, RunSpec

EXECUTOR = "celery"
TASK_NAME = "wedata.run_attempt"
ENDS_EXCHANGE = "wedata.ends"
QUEUE_PREFIX = "wedata.rg."
# The code files of one attempt; more than this is refused (it is in the database and the handle).
MAX_PACKED_BYTES = 8 * 1024 * 1024


def queue_name(group: str) -> str:
    return QUEUE_PREFIX + group


def logs_in_database(executor: str | None) -> bool:
    """Whether an attempt run by this executor keeps its log in ``instance_log_chunks``."""
    return executor == EXECUTOR


# -- packing a RunSpec ------------------------------------------------------------------------------


def pack_spec(spec: RunSpec) -> dict[str, Any]:
    files: dict[str, str] = {}
    total = 0
    run_dir = Path(spec.run_dir)
    if run_dir.is_dir():
        for entry in sorted(run_dir.iterdir()):
            if not entry.is_file() or entry.is_symlink():
                continue
            data = entry.read_bytes()
            total += len(data)
            if total > MAX_PACKED_BYTES:
                raise ExecutorError(f"the attempt's files are larger than {MAX_PACKED_BYTES} bytes")
            files[entry.name] = data.decode("utf-8", "surrogateescape")
    for name, text in spec.files.items():  # not written yet here (the local executor writes them)
        total += len(text.encode("utf-8", "surrogateescape")) - len(files.get(name, "").encode("utf-8", "surrogateescape"))
        if total > MAX_PACKED_BYTES:
            raise ExecutorError(f"the attempt's files are larger than {MAX_PACKED_BYTES} bytes")
        files[name] = text
    return {
        "argv": list(spec.argv),
        "env": dict(spec.env),
        "run_dir": spec.run_dir,
        "cwd": spec.cwd,
        "resource_group": spec.resource_group,
        "trusted": spec.trusted,
        "files": files,
    }


def _rewrite(arg: str, old: str, new: str) -> str:
    if arg == old:
        return new
    if arg.startswith(old.rstrip("/") + "/"):
        return new.rstrip("/") + arg[len(old.rstrip("/")):]
    return arg


def unpack_spec(packed: Mapping[str, Any], execution_id: int, run_dir: str, log_path: str) -> RunSpec:
    """Write the packed files into ``run_dir`` (this machine's) and return the spec to run."""
    os.makedirs(run_dir, exist_ok=True)
    for name, text in dict(packed.get("files") or {}).items():
        if "/" in name or name in ("", ".", ".."):
            raise ExecutorError(f"refusing a packed file named {name!r}")
        Path(run_dir, name).write_bytes(str(text).encode("utf-8", "surrogateescape"))
    old = str(packed.get("run_dir") or "")
    argv = [_rewrite(str(a), old, run_dir) if old else str(a) for a in packed.get("argv") or []]
    cwd = _rewrite(str(packed.get("cwd") or ""), old, run_dir) if old else ""
    if not cwd or not cwd.startswith(run_dir):
        cwd = str(Path(run_dir, "work"))
    os.makedirs(cwd, exist_ok=True)
    trusted = packed.get("trusted")
    return RunSpec(
        execution_id=execution_id,
        argv=argv,
        cwd=cwd,
        log_path=log_path,
        run_dir=run_dir,
        env={str(k): str(v) for k, v in dict(packed.get("env") or {}).items()},
        resource_group=packed.get("resource_group"),
        trusted=trusted if isinstance(trusted, bool) else None,
    )


# -- what each side is given ----------------------------------------------------------------------


class RunRowLike(Protocol):
    @property
    def execution_id(self) -> int: ...
    @property
    def state(self) -> str | None: ...
    @property
    def exit_code(self) -> int | None: ...
    @property
    def worker_id(self) -> str | None: ...
    @property
    def heartbeat_at(self) -> datetime | None: ...
    @property
    def worker_stopped(self) -> bool: ...


class WorkerRowLike(Protocol):
    @property
    def worker_id(self) -> str: ...
    @property
    def groups(self) -> frozenset[str]: ...
    @property
    def heartbeat_at(self) -> datetime: ...


class EngineStore(Protocol):
    def runs(self, execution_ids: Iterable[int]) -> Sequence[RunRowLike]: ...

    def workers(self) -> Sequence[WorkerRowLike]: ...

    def declare_lost(self, execution_id: int, worker_id: str | None) -> bool: ...

    def request_kill(self, execution_id: int, token: str, grace: float) -> str: ...


class ClaimLike(Protocol):
    @property
    def handle(self) -> dict[str, Any]: ...
    @property
    def log_seq(self) -> int: ...
    @property
    def log_bytes(self) -> int: ...


class RunControlLike(Protocol):
    @property
    def execution_id(self) -> int: ...
    @property
    def state(self) -> str: ...
    @property
    def kill_requested(self) -> bool: ...
    @property
    def kill_grace(self) -> float | None: ...


class WorkerStore(Protocol):
    def now(self) -> datetime:
        """Naive UTC on the database's clock (a worker's machine may have a wrong one)."""
        ...

    def sync_clock(self) -> float:
        """Measure this machine's clock against the database's; the offset in seconds."""
        ...

    def register_worker(self, worker_id: str, host: str, pid: int, groups: Sequence[str], slots: int,
                        isolation: str) -> None: ...

    def heartbeat(self, worker_id: str) -> bool: ...

    def stop_worker(self, worker_id: str) -> None: ...

    def claim(self, execution_id: int, token: str, worker_id: str) -> ClaimLike | str: ...

    def append_log(self, execution_id: int, worker_id: str, seq: int, pos: int, texts: Sequence[str]) -> bool: ...

    def finish(self, execution_id: int, worker_id: str, exit_code: int | None, outputs: Mapping[str, Any] | None,
               seq: int, pos: int, texts: Sequence[str]) -> bool: ...

    def controls(self, execution_ids: Iterable[int]) -> Sequence[RunControlLike]: ...
