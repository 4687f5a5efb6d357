"""Settings, read once from WEDATA_* environment variables and CLI flags, then passed down."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
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


@dataclass(frozen=True)
class Settings:
    home: Path = field(default_factory=lambda: Path.home() / ".wedata")
    database_url: str | None = None  # None: SQLite under home
    host: str = "127.0.0.1"
    port: int = 8080
    # Per credential and action, requests per second; 0 turns the limit off.
    rate_limit: float = 20.0
    max_body_bytes: int = 10 * 1024 * 1024
    # Allowed |server time - X-TC-Timestamp| in seconds; 0 turns the check off.
    max_clock_skew: int = 300
    secret_id: str | None = None
    secret_key: str | None = None
    admin_uin: str = "100000000001"
    log_level: str = "INFO"
    access_log: bool = True
    # Scheduler knobs (used by the engine).
    scheduler_enabled: bool = True
    default_slots: int = 4
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite:///{self.home / 'wedata.db'}"

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
            max_body_bytes=_int(env, "WEDATA_MAX_BODY_BYTES", 10 * 1024 * 1024),
            max_clock_skew=_int(env, "WEDATA_MAX_CLOCK_SKEW", 300),
            secret_id=env.get("WEDATA_SECRET_ID") or None,
            secret_key=env.get("WEDATA_SECRET_KEY") or None,
            admin_uin=env.get("WEDATA_ADMIN_UIN", "100000000001"),
            log_level=env.get("WEDATA_LOG_LEVEL", "INFO"),
            access_log=env.get("WEDATA_ACCESS_LOG", "1") not in ("0", "false", "no"),
            scheduler_enabled=env.get("WEDATA_SCHEDULER", "1") not in ("0", "false", "no"),
            default_slots=_int(env, "WEDATA_DEFAULT_SLOTS", 4),
        )
