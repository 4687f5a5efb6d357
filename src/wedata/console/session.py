"""Console sessions: the signed cookie, the CSRF token, and the brake on guessing keys.

The cookie (``wedata_console``) holds ``base64url(JSON).base64url(HMAC-SHA256)``. The JSON names
the credential (SecretId), the user (Uin) it stood for at sign-in, the session's CSRF token, the
time it was issued, and a *fingerprint* of the SecretKey: HMAC of the key under the server's
session key, never the key itself. The signing key is derived from the key file
(``SecretBox.derive_key("console-session")``), so every API process sharing the key file accepts
the same cookies and a new key file signs everybody out.

Decisions (WeData's console signs in through CAM; ours signs in with an API credential):

- Each request re-reads the credential (``CredentialStore.lookup``, cached 5 s) and compares the
  fingerprint: a deleted credential, or one re-created with another SecretKey, ends its sessions
  within seconds. The Caller (Uin, tenant admin or not) is always the credential's current one.
- A session lasts ``MAX_AGE`` (12 h) from sign-in, then the user signs in again. There is no
  server-side session store: signing out clears the cookie in that browser (a stolen cookie stays
  valid until it expires or the credential changes; it is HttpOnly and SameSite=Strict, and
  Secure when the console is served over HTTPS).
- CSRF: every POST carries the session's token (a hidden ``csrf_token`` field, or the
  ``X-CSRF-Token`` header htmx sends from ``hx-headers`` on <body>), compared in constant time.
  The sign-in form, which has no session yet, uses a double-submit token: a short-lived signed
  ``wedata_console_pre`` cookie whose value the form repeats.
- Wrong credentials: the same message whether the SecretId or the SecretKey was wrong, after a
  delay that doubles with each recent failure from the same client address (1 s, 2 s, 4 s, at
  most ``MAX_DELAY``), forgotten ``FAILURE_WINDOW`` seconds after the last failure.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import threading
import time
from dataclasses import dataclass

from wedata.principal import Caller, Credential

COOKIE = "wedata_console"
PRE_COOKIE = "wedata_console_pre"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
MAX_AGE = 12 * 3600
PRE_MAX_AGE = 3600
MAX_DELAY = 8.0
FAILURE_WINDOW = 15 * 60


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True, slots=True)
class Session:
    """A signed-in browser: whose credential, its CSRF token, when it was issued."""

    secret_id: str
    uin: str
    csrf: str
    issued: int
    fingerprint: str

    def caller(self, credential: Credential) -> Caller:
        return Caller(credential.secret_id, credential.uin, credential.is_admin)


class SessionCodec:
    """Signs and verifies session cookies and sign-in tokens with the server's session key."""

    def __init__(self, key: bytes, *, max_age: int = MAX_AGE) -> None:
        if len(key) < 32:
            raise ValueError("the session key must hold at least 32 bytes")
        self._key = key
        self.max_age = max_age

    def _sign(self, payload: bytes) -> str:
        return _b64(hmac.new(self._key, payload, hashlib.sha256).digest())

    def fingerprint(self, credential: Credential) -> str:
        mac = hmac.new(self._key, f"credential\0{credential.secret_id}\0{credential.secret_key}".encode(), hashlib.sha256)
        return _b64(mac.digest()[:18])

    def issue(self, credential: Credential, now: float | None = None) -> tuple[Session, str]:
        session = Session(credential.secret_id, credential.uin, secrets.token_urlsafe(32),
                          int(now if now is not None else time.time()), self.fingerprint(credential))
        body = json.dumps({"i": session.secret_id, "u": session.uin, "c": session.csrf, "t": session.issued,
                           "k": session.fingerprint}, separators=(",", ":")).encode()
        payload = _b64(body)
        return session, f"{payload}.{self._sign(payload.encode())}"

    def read(self, cookie: str | None, now: float | None = None) -> Session | None:
        """The session a cookie carries, or None (absent, forged, malformed or expired)."""
        if not cookie or cookie.count(".") != 1 or len(cookie) > 4096:
            return None
        payload, signature = cookie.split(".")
        if not hmac.compare_digest(signature, self._sign(payload.encode())):
            return None
        try:
            data = json.loads(_unb64(payload))
            session = Session(str(data["i"]), str(data["u"]), str(data["c"]), int(data["t"]), str(data["k"]))
        except (ValueError, KeyError, TypeError):
            return None
        age = (now if now is not None else time.time()) - session.issued
        if age < -60 or age > self.max_age:
            return None
        return session

    def still_valid(self, session: Session, credential: Credential | None) -> bool:
        """The credential still exists and still has the SecretKey the session signed in with."""
        return credential is not None and hmac.compare_digest(session.fingerprint, self.fingerprint(credential))

    # The sign-in form's double-submit token: ``<nonce>.<issued>.<signature>``.
    def pre_token(self, now: float | None = None) -> str:
        body = f"{secrets.token_urlsafe(24)}.{int(now if now is not None else time.time())}"
        return f"{body}.{self._sign(b'pre' + body.encode())}"

    def pre_token_ok(self, cookie: str | None, field: str | None, now: float | None = None) -> bool:
        if not cookie or not field or not hmac.compare_digest(cookie, field) or cookie.count(".") != 2:
            return False
        nonce, issued, signature = cookie.split(".")
        if not hmac.compare_digest(signature, self._sign(b"pre" + f"{nonce}.{issued}".encode())):
            return False
        age = (now if now is not None else time.time()) - int(issued) if issued.isdigit() else -1
        return 0 <= age <= PRE_MAX_AGE


def csrf_ok(session: Session, sent: str | None) -> bool:
    return bool(sent) and hmac.compare_digest(session.csrf.encode(), (sent or "").encode())


def credential_matches(credential: Credential | None, secret_key: str) -> bool:
    """The SecretKey is the credential's (constant time); credentials with a token (temporary
    ones) cannot sign in to the console: it has no field for the token."""
    if credential is None or credential.token:
        return False
    return hmac.compare_digest(credential.secret_key.encode(), secret_key.encode())


class SignInBrake:
    """Slows down guessing: the delay before answering a failed sign-in from one address."""

    def __init__(self, base: float = 1.0, maximum: float = MAX_DELAY, window: float = FAILURE_WINDOW) -> None:
        self.base, self.maximum, self.window = base, maximum, window
        self._failures: dict[str, tuple[int, float]] = {}
        self._lock = threading.Lock()

    def failed(self, client: str, now: float | None = None) -> float:
        """Record a failure; returns how long to wait before answering it."""
        now = time.monotonic() if now is None else now
        with self._lock:
            if len(self._failures) > 10_000:
                self._failures = {k: v for k, v in self._failures.items() if now - v[1] < self.window}
            count, last = self._failures.get(client, (0, now))
            count = count + 1 if now - last < self.window else 1
            self._failures[client] = (count, now)
        return float(min(self.maximum, self.base * 2 ** (count - 1)))

    def succeeded(self, client: str) -> None:
        with self._lock:
            self._failures.pop(client, None)
