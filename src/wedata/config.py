"""Settings, read once from WEDATA_* environment variables and CLI flags, then passed down."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise SystemExit(f"{name} must be an integer, got {raw!r}") from None


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        return float(raw)
    except ValueError:
        raise SystemExit(f"{name} must be a number, got {raw!r}") from None


def _seconds(env: Mapping[str, str], name: str, default: float) -> float:
    value = _float(env, name, default)
    if not 0 < value <= 3600:
        raise SystemExit(f"{name} must be a number of seconds in (0, 3600], got {env.get(name)!r}")
    return value


def _bounded(env: Mapping[str, str], name: str, default: float, *, low: float, high: float = 86400) -> float:
    value = _float(env, name, default)
    if not low <= value <= high:
        raise SystemExit(f"{name} must be a number of seconds in [{low:g}, {high:g}], got {env.get(name)!r}")
    return value


def _duration(env: Mapping[str, str], name: str, default: float) -> float:
    """Seconds, from ``7d``, ``12h``, ``30m``, ``45s`` or a plain number of seconds (> 0)."""
    raw = (env.get(name) or "").strip()
    if not raw:
        return default
    units = {"d": 86400.0, "h": 3600.0, "m": 60.0, "s": 1.0}
    number, scale = (raw[:-1], units[raw[-1]]) if raw[-1] in units else (raw, 1.0)
    try:
        value = float(number) * scale
    except ValueError:
        value = -1.0
    if not 0 < value < float("inf"):
        raise SystemExit(f"{name} must be a positive duration such as 7d, 12h, 30m, 45s, got {raw!r}")
    return value


def _paths(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    return tuple(p for p in env.get(name, "").split(os.pathsep) if p.strip())


def _prepare_threshold(env: Mapping[str, str], name: str, default: int) -> int | None:
    """psycopg's ``prepare_threshold``: a number of executions, or ``none`` (never prepare)."""
    raw = (env.get(name) or "").strip().lower()
    if raw in ("none", "off"):
        return None
    value = _int(env, name, default)
    if value < 0:
        raise SystemExit(f"{name} must be a number of executions (0 or more) or none, got {raw!r}")
    return value


def _pool_size(env: Mapping[str, str], name: str) -> int | None:
    """A number of connections (1 or more), or None when unset (sized by the process)."""
    if not (env.get(name) or "").strip():
        return None
    value = _int(env, name, 0)
    if value < 1:
        raise SystemExit(f"{name} must be a number of connections (1 or more), got {env[name]!r}")
    return value


def _choice(env: Mapping[str, str], name: str, default: str, choices: tuple[str, ...]) -> str:
    raw = (env.get(name) or default).strip()
    if raw not in choices:
        raise SystemExit(f"{name} must be one of {', '.join(choices)}, got {raw!r}")
    return raw


def _datetime(env: Mapping[str, str], name: str) -> datetime | None:
    raw = env.get(name)
    if raw is None or raw == "":
        return None
    try:
        return datetime.strptime(raw.strip(), "%Y-%m-%d %H:%M:%S")
    except ValueError:
        raise SystemExit(f"{name} must be formatted yyyy-MM-dd HH:mm:ss (UTC), got {raw!r}") from None


@dataclass(frozen=True)
class Settings:
    home: Path = field(default_factory=lambda: Path.home() / ".wedata")
    database_url: str | None = None  # None: SQLite under home
    host: str = "127.0.0.1"
    port: int = 8080
    # Per credential and action, requests per second; 0 turns the limit off.
    rate_limit: float = 20.0
    # Per credential, requests being served at once; 0 turns the bound off.
    max_inflight: int = 16
    # Threads serving API requests; None = sized for the backend (see api_thread_count).
    api_threads: int | None = None
    api_write_threads: int | None = None
    max_body_bytes: int = 10 * 1024 * 1024
    # Allowed |server time - X-TC-Timestamp| in seconds; 0 turns the check off.
    max_clock_skew: int = 300
    secret_id: str | None = None
    secret_key: str | None = None
    # The Fernet key that encrypts the secrets stored in the database (storage/secrets.py);
    # None: WEDATA_HOME/keys/secret.key.
    key_file: Path | None = None
    admin_uin: str = "100000000001"
    log_level: str = "INFO"
    access_log: bool = True
    # Scheduler knobs (used by the engine).
    scheduler_enabled: bool = True
    # Where `wedata server` runs its engine: "process", a child process of its own (the API keeps
    # its interpreter to itself; cli/engine_process.py), or "thread", in the API's process.
    engine_mode: str = "process"
    default_slots: int = 4
    # Instances are planned through the end of the day this many days after today.
    plan_horizon_days: int = 1
    # First plan of a task: "day" = from 00:00 today (past fires run at once), "now" = from now.
    plan_catch_up: str = "day"
    plan_interval: float = 1.0  # seconds between checks for submitted/changed tasks
    # The interpreter's thread switch interval in ms (sys.setswitchinterval; Python's own is 5):
    # how long a request thread back from SQLite or the network may wait for the GIL while the
    # engine or another request computes (docs/protocol.md, "Mixed load").
    switch_interval_ms: float = 5.0
    # PostgreSQL: a statement is prepared on the server after this many executions on one
    # connection (psycopg's prepare_threshold; None: never, e.g. behind PgBouncer in transaction
    # mode). 1 prepares the second time (docs/engine.md, "Fourth round").
    pg_prepare_threshold: int | None = 1
    # PostgreSQL: connections each process keeps open in its pool (None: sized for its threads,
    # storage/db.py). Every API process, engine, scheduler and worker has a pool of its own, so a
    # deployment of many processes on one server's max_connections sets it lower (docs/deploy.md).
    pg_pool_size: int | None = None
    # Nice level of task processes (executors/local.py), 0-19; 0 runs them at the server's.
    task_nice: int = 10
    sweep_interval: float = 30.0  # seconds between safety sweeps of waiting instances
    heartbeat_interval: float = 2.0  # seconds between scheduler-node heartbeats
    node_lease: float = 15.0  # seconds without heartbeat after which a node is dead
    kill_grace: float = 3.0  # seconds between SIGTERM and SIGKILL of an attempt
    # Dispatch pauses while less than this many MiB are free under the logs or run directories
    # (scheduler/diskguard.py); 0: only when a write meets "no space left".
    min_free_mb: int = 64
    # Scaled clock for tests: start time (naive UTC) and speed factor (1.0 = real time).
    clock_start: datetime | None = None
    clock_factor: float = 1.0
    # Task isolation (executors/sandbox.py, docs/security.md): auto | bwrap | bwrap+user | user | none.
    sandbox: str = "auto"
    run_as_user: str = "wedata-run"
    allow_unisolated: bool = False  # run non-admins' tasks even when there is no isolation
    sandbox_bind: tuple[str, ...] = ()  # extra host paths tasks may read and write
    sandbox_ro_bind: tuple[str, ...] = ()  # extra host paths tasks may read
    # Seconds a data-source connection test (connect + SELECT 1) may take (services/datasources).
    datasource_test_timeout: float = 5.0
    # The catalog (services/catalog, docs/catalog.md): a read refreshes a source whose cached
    # metadata is older than catalog_max_age seconds; the refresh worker re-reads every
    # catalogued source every catalog_refresh_interval seconds (0: no worker).
    catalog_max_age: float = 600.0
    catalog_refresh_interval: float = 300.0
    # Lineage (services/lineage, docs/lineage.md): how many hops ListLineage/ListColumnLineage
    # follow (the API has no depth field).
    lineage_depth: int = 5
    # SQL script runs (services/sql, docs/sql-scripts.md): threads executing them in each server
    # process, rows kept per result set, the largest script, how long results are kept (seconds).
    sql_script_threads: int = 8
    sql_script_max_rows: int = 1000
    sql_script_max_bytes: int = 1024 * 1024
    sql_result_retention: float = 7 * 86400.0
    # Code studio files (services/code, docs/code-studio.md): the largest file content accepted.
    code_file_max_bytes: int = 2 * 1024 * 1024
    # Resource files (storage/objects.py, docs/files.md): where new files go (local: under
    # WEDATA_HOME/objects; s3: any S3-compatible store), and the largest file accepted.
    object_store: str = "local"
    object_store_bucket: str = ""
    object_store_region: str = ""
    object_store_endpoint: str | None = None
    object_store_access_key: str | None = None
    object_store_secret_key: str | None = field(default=None, repr=False)
    resource_max_bytes: int = 512 * 1024 * 1024
    # Remote workers (docs/workers.md): resource groups whose attempts the engine sends to Celery
    # workers (ids; "*" = every group; tasks without a group always run locally), the broker,
    # how long a worker may stay silent before its runs are lost and retried (seconds), and
    # Redis's visibility timeout (seconds before an unacknowledged message is delivered again).
    remote_groups: tuple[str, ...] = ()
    broker_url: str = "redis://127.0.0.1:6379/0"
    worker_lease: float = 30.0
    broker_visibility_timeout: float = 300.0
    # Time and file-arrival triggers of trigger workflows (services/triggers/firing.py,
    # docs/triggers.md): where file-arrival triggers may look (local directories and URL
    # prefixes; empty: WEDATA_HOME/incoming and the S3 object store's bucket) and how often the
    # firing worker looks (seconds).
    trigger_watch_roots: tuple[str, ...] = ()
    trigger_interval: float = 0.5
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite:///{self.home / 'wedata.db'}"

    @property
    def key_path(self) -> Path:
        return self.key_file or self.home / "keys" / "secret.key"

    @property
    def api_thread_count(self) -> int:
        """4 on either backend: the GIL bounds the handlers' CPU work, and a few threads keep a
        slow request from stalling the rest. More threads only contend for the GIL: on
        PostgreSQL, mixed.py gave 295-301 req/s with a p99 of 367-371 ms at 10 threads, against
        332-360 req/s and 224-268 ms at 4 over five runs (docs/protocol.md, "Sixth round"). A
        database whose round trips take a millisecond or more (another host) may want more
        threads, to overlap the waits."""
        if self.api_threads is not None:
            return self.api_threads
        return 4

    @property
    def api_write_thread_count(self) -> int:
        """Threads of the writing actions' own pool; 0 (the default): they share the one pool.
        On SQLite, a pool of their own means that writers queued on the write lock (which the
        engine's process may hold) never hold the threads the reads need. That removes the
        reads' rare 1.5 s stall, but under a load that saturates SQLite's writes it moves the
        whole wait onto the writes: mixed.py gave p99 278-298 ms with 2-4 write threads against
        126-135 ms with one pool (docs/protocol.md, "Concurrency"). So it is a choice, not the
        default."""
        if self.api_write_threads is not None:
            return self.api_write_threads
        return 0

    @property
    def logs_dir(self) -> Path:
        return self.home / "logs"

    def with_overrides(self, **kwargs: Any) -> Settings:
        return replace(self, **{k: v for k, v in kwargs.items() if v is not None})

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        home = Path(env.get("WEDATA_HOME") or Path.home() / ".wedata").expanduser()
        return cls(
            home=home,
            database_url=env.get("WEDATA_DATABASE_URL") or None,
            host=env.get("WEDATA_HOST", "127.0.0.1"),
            port=_int(env, "WEDATA_PORT", 8080),
            rate_limit=_float(env, "WEDATA_RATE_LIMIT", 20.0),
            max_inflight=_int(env, "WEDATA_MAX_INFLIGHT", 16),
            api_threads=_int(env, "WEDATA_API_THREADS", -1) if env.get("WEDATA_API_THREADS") else None,
            api_write_threads=(_int(env, "WEDATA_API_WRITE_THREADS", -1)
                               if env.get("WEDATA_API_WRITE_THREADS") else None),
            max_body_bytes=_int(env, "WEDATA_MAX_BODY_BYTES", 10 * 1024 * 1024),
            max_clock_skew=_int(env, "WEDATA_MAX_CLOCK_SKEW", 300),
            secret_id=env.get("WEDATA_SECRET_ID") or None,
            secret_key=env.get("WEDATA_SECRET_KEY") or None,
            key_file=Path(env["WEDATA_KEY_FILE"]).expanduser() if env.get("WEDATA_KEY_FILE") else None,
            admin_uin=env.get("WEDATA_ADMIN_UIN", "100000000001"),
            log_level=env.get("WEDATA_LOG_LEVEL", "INFO"),
            access_log=env.get("WEDATA_ACCESS_LOG", "1") not in ("0", "false", "no"),
            scheduler_enabled=env.get("WEDATA_SCHEDULER", "1") not in ("0", "false", "no"),
            engine_mode=_choice(env, "WEDATA_ENGINE", "process", ("process", "thread")),
            default_slots=_int(env, "WEDATA_DEFAULT_SLOTS", 4),
            plan_horizon_days=_int(env, "WEDATA_PLAN_HORIZON_DAYS", 1),
            plan_catch_up=env.get("WEDATA_PLAN_CATCH_UP", "day"),
            plan_interval=_float(env, "WEDATA_PLAN_INTERVAL", 1.0),
            switch_interval_ms=_float(env, "WEDATA_SWITCH_INTERVAL_MS", 5.0),
            pg_prepare_threshold=_prepare_threshold(env, "WEDATA_PG_PREPARE_THRESHOLD", 1),
            pg_pool_size=_pool_size(env, "WEDATA_PG_POOL_SIZE"),
            task_nice=min(19, max(0, _int(env, "WEDATA_TASK_NICE", 10))),
            sweep_interval=_float(env, "WEDATA_SWEEP_INTERVAL", 30.0),
            heartbeat_interval=_float(env, "WEDATA_HEARTBEAT_INTERVAL", 2.0),
            node_lease=_float(env, "WEDATA_NODE_LEASE", 15.0),
            kill_grace=_float(env, "WEDATA_KILL_GRACE", 3.0),
            min_free_mb=_int(env, "WEDATA_MIN_FREE_MB", 64),
            clock_start=_datetime(env, "WEDATA_CLOCK_START"),
            clock_factor=_float(env, "WEDATA_CLOCK_FACTOR", 1.0),
            sandbox=_choice(env, "WEDATA_SANDBOX", "auto", ("auto", "bwrap", "bwrap+user", "user", "none")),
            run_as_user=env.get("WEDATA_RUN_AS_USER") or "wedata-run",
            allow_unisolated=env.get("WEDATA_ALLOW_UNISOLATED", "0") in ("1", "true", "yes"),
            sandbox_bind=_paths(env, "WEDATA_SANDBOX_BIND"),
            sandbox_ro_bind=_paths(env, "WEDATA_SANDBOX_RO_BIND"),
            datasource_test_timeout=_seconds(env, "WEDATA_DATASOURCE_TEST_TIMEOUT", 5.0),
            catalog_max_age=_bounded(env, "WEDATA_CATALOG_MAX_AGE", 600.0, low=1),
            catalog_refresh_interval=_bounded(env, "WEDATA_CATALOG_REFRESH_INTERVAL", 300.0, low=0),
            lineage_depth=int(_bounded(env, "WEDATA_LINEAGE_DEPTH", 5, low=1, high=20)),
            sql_script_threads=_int(env, "WEDATA_SQL_SCRIPT_THREADS", 8),
            sql_script_max_rows=_int(env, "WEDATA_SQL_SCRIPT_MAX_ROWS", 1000),
            sql_script_max_bytes=_int(env, "WEDATA_SQL_SCRIPT_MAX_BYTES", 1024 * 1024),
            sql_result_retention=_duration(env, "WEDATA_SQL_RESULT_RETENTION", 7 * 86400.0),
            code_file_max_bytes=_int(env, "WEDATA_CODE_FILE_MAX_BYTES", 2 * 1024 * 1024),
            object_store=_choice(env, "WEDATA_OBJECT_STORE", "local", ("local", "s3")),
            object_store_bucket=env.get("WEDATA_OBJECT_STORE_BUCKET", ""),
            object_store_region=env.get("WEDATA_OBJECT_STORE_REGION", ""),
            object_store_endpoint=env.get("WEDATA_OBJECT_STORE_ENDPOINT") or None,
            object_store_access_key=env.get("WEDATA_OBJECT_STORE_ACCESS_KEY") or None,
            object_store_secret_key=env.get("WEDATA_OBJECT_STORE_SECRET_KEY") or None,
            resource_max_bytes=_int(env, "WEDATA_RESOURCE_MAX_BYTES", 512 * 1024 * 1024),
            remote_groups=tuple(g.strip() for g in env.get("WEDATA_REMOTE_GROUPS", "").split(",") if g.strip()),
            broker_url=env.get("WEDATA_BROKER_URL") or "redis://127.0.0.1:6379/0",
            worker_lease=_bounded(env, "WEDATA_WORKER_LEASE", 30.0, low=1, high=3600),
            broker_visibility_timeout=_bounded(env, "WEDATA_BROKER_VISIBILITY_TIMEOUT", 300.0, low=10),
            trigger_watch_roots=tuple(r.strip() for r in env.get("WEDATA_TRIGGER_WATCH_ROOTS", "").split(",")
                                      if r.strip()),
            trigger_interval=_bounded(env, "WEDATA_TRIGGER_INTERVAL", 0.5, low=0.05, high=60),
        )
