"""The engine's executor: local processes for Shell and Python, the SQL executor for SQL tasks.

One object behind the ``Executor`` protocol, so the engine keeps one executor: an attempt whose
``RunSpec`` carries a SQL job goes to :class:`~wedata.executors.sql_tasks.SqlTaskExecutor`
(threads of this process; why: that module's docstring), every other one to the
:class:`~wedata.executors.local.LocalExecutor` (sandboxed subprocesses). Handles say which
executor made them (``"executor": "sql"``; a handle without the key is the local executor's, as
every handle stored before SQL tasks existed), so kills, polls and re-attachment after a
restart reach the right one. The isolation it reports is the local executor's.
"""

from __future__ import annotations

from wedata.executors.base import ExitCallback, Handle, RunSpec, RunState
from wedata.executors.local import LocalExecutor
from wedata.executors.sql_tasks import EXECUTOR as SQL_EXECUTOR
from wedata.executors.sql_tasks import SqlTaskExecutor


class TaskExecutors:
    name = "local"

    def __init__(self, local: LocalExecutor, sql: SqlTaskExecutor) -> None:
        self.local = local
        self.sql = sql

    def _for(self, handle: Handle) -> LocalExecutor | SqlTaskExecutor:
        return self.sql if handle.get("executor") == SQL_EXECUTOR else self.local

    def start(self, on_exit: ExitCallback) -> None:
        self.local.start(on_exit)
        self.sql.start(on_exit)

    def handle_for(self, spec: RunSpec) -> Handle:
        return self.sql.handle_for(spec) if spec.sql is not None else self.local.handle_for(spec)

    def submit(self, spec: RunSpec) -> Handle:
        return self.sql.submit(spec) if spec.sql is not None else self.local.submit(spec)

    def attach(self, execution_id: int, handle: Handle) -> bool:
        return self._for(handle).attach(execution_id, handle)

    def poll(self, handle: Handle) -> RunState:
        return self._for(handle).poll(handle)

    def kill(self, handle: Handle, grace_seconds: float = 3.0) -> None:
        self._for(handle).kill(handle, grace_seconds)

    def close(self) -> None:
        self.sql.close()
        self.local.close()

    @property
    def isolation(self) -> dict[str, object]:
        return self.local.isolation

    @property
    def admin_only(self) -> bool:
        return self.local.admin_only
