"""API credentials: SecretId -> SecretKey -> user Uin (optionally a token)."""

from __future__ import annotations

import secrets
import string
import threading
import time
from dataclasses import dataclass

from sqlalchemy import delete, insert, select

from wedata.clock import utcnow
from wedata.principal import Credential
from wedata.storage import tables as T
from wedata.storage.db import Database

_ALNUM = string.ascii_letters + string.digits


def generate_secret_id() -> str:
    return "AKID" + "".join(secrets.choice(_ALNUM) for _ in range(32))


def generate_secret_key() -> str:
    return "".join(secrets.choice(_ALNUM) for _ in range(32))


@dataclass(frozen=True)
class CredentialRow:
    secret_id: str
    uin: str
    is_admin: bool
    has_token: bool
    description: str


class CredentialStore:
    """Looks credentials up in the database, caching each answer for a few seconds.

    The cache keeps the signature check off the database on the hot path; a deleted credential
    stops working within ``ttl`` seconds in every process.
    """

    def __init__(self, db: Database, ttl: float = 5.0) -> None:
        self.db = db
        self.ttl = ttl
        self._cache: dict[str, tuple[float, Credential | None]] = {}
        self._lock = threading.Lock()

    def lookup(self, secret_id: str) -> Credential | None:
        now = time.monotonic()
        hit = self._cache.get(secret_id)
        if hit and hit[0] > now:
            return hit[1]
        with self.db.read() as conn:
            row = conn.execute(select(T.credentials).where(T.credentials.c.secret_id == secret_id)).first()
        cred = (
            Credential(row.secret_id, row.secret_key, row.uin, row.token, bool(row.is_admin)) if row else None
        )
        with self._lock:
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[secret_id] = (now + self.ttl, cred)
        return cred

    def create(
        self,
        uin: str,
        *,
        secret_id: str | None = None,
        secret_key: str | None = None,
        token: str | None = None,
        is_admin: bool = False,
        description: str = "",
    ) -> Credential:
        cred = Credential(secret_id or generate_secret_id(), secret_key or generate_secret_key(), uin, token, is_admin)
        with self.db.write() as conn:
            conn.execute(
                insert(T.credentials).values(
                    secret_id=cred.secret_id,
                    secret_key=cred.secret_key,
                    uin=uin,
                    token=token,
                    is_admin=is_admin,
                    description=description,
                    created_at=utcnow(),
                )
            )
        self._cache.pop(cred.secret_id, None)
        return cred

    def list(self) -> list[CredentialRow]:
        with self.db.read() as conn:
            rows = conn.execute(select(T.credentials).order_by(T.credentials.c.created_at)).all()
        return [CredentialRow(r.secret_id, r.uin, bool(r.is_admin), bool(r.token), r.description) for r in rows]

    def delete(self, secret_id: str) -> bool:
        with self.db.write() as conn:
            n = conn.execute(delete(T.credentials).where(T.credentials.c.secret_id == secret_id)).rowcount
        self._cache.pop(secret_id, None)
        return bool(n)

    def count(self) -> int:
        return len(self.list())
