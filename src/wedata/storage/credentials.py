"""API credentials: SecretId -> SecretKey -> user Uin (optionally a token).

The SecretKey and the token are stored encrypted (``storage/secrets.py``; migration 0007
encrypted the rows written before). A lookup decrypts, because the signature check needs the
plain key; the answer is cached for ``ttl`` seconds, so the hot path (thousands of signed requests
a second from a few credentials) decrypts once per credential and ``ttl``, not per request. A row
that does not decrypt (written by hand in plain text, or under another key) does not
authenticate, and is logged without its value.
"""

from __future__ import annotations

import logging
import secrets
import string
import threading
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, insert, select

from wedata.clock import utcnow
from wedata.principal import Credential
from wedata.storage import tables as T
from wedata.storage.db import Database
from wedata.storage.secrets import PREFIX, KeyFileError, SecretBox, SecretError

log = logging.getLogger("wedata.credentials")

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

    # The plain-text limits of the columns before they held ciphertext.
    MAX_SECRET_KEY = 128
    MAX_TOKEN = 256

    def __init__(self, db: Database, box: SecretBox, ttl: float = 5.0) -> None:
        self.db = db
        self.box = box
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
        cred = self._decrypt(row) if row else None
        with self._lock:
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[secret_id] = (now + self.ttl, cred)
        return cred

    def _decrypt(self, row: Any) -> Credential | None:
        try:
            key, token = self.box.decrypt(row.secret_key), self.box.decrypt_optional(row.token)
        except SecretError as exc:
            log.error("credential %s cannot be used: %s", row.secret_id, exc)
            return None
        return Credential(row.secret_id, key, row.uin, token, bool(row.is_admin))

    def check_key(self) -> None:
        """Refuse to start when the key file is not the one the stored secrets were encrypted with."""
        c = T.credentials
        with self.db.read() as conn:
            sample = conn.execute(
                select(c.c.secret_key).where(c.c.secret_key.startswith(PREFIX, autoescape=True)).limit(1)
            ).scalar()
        if sample is None:
            return
        try:
            self.box.decrypt(sample)
        except SecretError:
            self.box.discard_created_key()
            raise KeyFileError(
                f"The key file {self.box.path} cannot decrypt the secrets stored in the database: it is not "
                "the key they were encrypted with. Give this process a copy of the key file of the first "
                "server (WEDATA_KEY_FILE)."
            ) from None

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
        if len(cred.secret_key) > self.MAX_SECRET_KEY:
            raise ValueError(f"a SecretKey holds at most {self.MAX_SECRET_KEY} characters")
        if token is not None and len(token) > self.MAX_TOKEN:
            raise ValueError(f"a token holds at most {self.MAX_TOKEN} characters")
        with self.db.write() as conn:
            conn.execute(
                insert(T.credentials).values(
                    secret_id=cred.secret_id,
                    secret_key=self.box.encrypt(cred.secret_key),
                    uin=uin,
                    token=self.box.encrypt_optional(token),
                    is_admin=is_admin,
                    description=description,
                    created_at=utcnow(),
                )
            )
        self._cache.pop(cred.secret_id, None)
        return cred

    def list(self) -> list[CredentialRow]:
        with self.db.read() as conn:
            c = T.credentials
            # Never fetch the (encrypted) secrets for a listing.
            rows = conn.execute(
                select(c.c.secret_id, c.c.uin, c.c.is_admin, c.c.token.is_not(None).label("token"), c.c.description)
                .order_by(c.c.created_at)
            ).all()
        return [CredentialRow(r.secret_id, r.uin, bool(r.is_admin), bool(r.token), r.description) for r in rows]

    def delete(self, secret_id: str) -> bool:
        with self.db.write() as conn:
            n = conn.execute(delete(T.credentials).where(T.credentials.c.secret_id == secret_id)).rowcount
        self._cache.pop(secret_id, None)
        return bool(n)

    def count(self) -> int:
        return len(self.list())
