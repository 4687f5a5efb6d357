"""Secrets at rest: the key file and the ``SecretBox`` that encrypts what the server stores.

Every secret the server keeps in its database (the SecretKey and token of a credential; later
data-source passwords and object-store keys) goes through one ``SecretBox``: Fernet
(AES-128-CBC + HMAC-SHA256, from ``cryptography``) under a key read from a key file.

Stored form: ``wdenc1:<Fernet token>``. The prefix says the value is encrypted and with which
scheme, so a value written before encryption (plain text, no prefix) is told apart, and a later
scheme (key rotation with ``MultiFernet``, say) can take ``wdenc2:``.

The key file (``WEDATA_KEY_FILE``, default ``WEDATA_HOME/keys/secret.key``) holds one urlsafe
base64 Fernet key. Decisions:

- Missing: created on first start, mode 0600, in a directory created 0700. It is written to a
  temporary file and hard-linked into place, so two processes starting together end up with the
  same complete key (the second one's link fails and it reads the first one's file).
- Present with any group/other permission bit, unreadable, not a regular file or not a Fernet
  key: the process refuses to start (``KeyFileError``, a ``SystemExit`` carrying the message),
  it never "fixes" a key file it did not create.
- Present but not the key the database's secrets were encrypted with (a new host given a fresh
  key instead of a copy): ``CredentialStore.check_key`` refuses to start, and a key file created
  by this very start is removed again so that the next attempt is not misled by it.

Nothing here logs or raises with a secret or a ciphertext in the message.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import stat
import uuid
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

PREFIX = "wdenc1:"


class KeyFileError(SystemExit):
    """The key file cannot be used: the process must not start (the message says why)."""


class SecretError(Exception):
    """A stored value cannot be decrypted with this key (or is not encrypted at all)."""


class SecretBox:
    """Encrypts and decrypts the secrets the server stores, with one Fernet key."""

    def __init__(self, key: bytes, *, path: Path | None = None, created: bool = False) -> None:
        self._fernet = Fernet(key)
        self._key = key
        self.path = path
        # True when this process created the key file (so it may remove it on a key mismatch).
        self.created = created

    @classmethod
    def generate(cls) -> SecretBox:
        """A box with a fresh in-memory key (tests and tools)."""
        return cls(Fernet.generate_key())

    @classmethod
    def from_key_file(cls, path: Path) -> SecretBox:
        """Read the key file, creating it (0600 in a 0700 directory) if it does not exist."""
        path = Path(path).expanduser()
        created = False
        if not os.path.lexists(path):
            created = _create_key_file(path)
        key = _read_key_file(path)
        try:
            return cls(key, path=path, created=created)
        except ValueError:
            raise KeyFileError(
                f"The key file {path} does not hold a Fernet key (32 urlsafe-base64 bytes); "
                "restore the right file or point WEDATA_KEY_FILE at it."
            ) from None

    def derive_key(self, purpose: str) -> bytes:
        """A 32-byte key for ``purpose`` (e.g. signing the console's session cookies), derived
        from the key file with HMAC-SHA256: every process sharing the key file derives the same
        one, a new key file invalidates what was signed with it, and the Fernet key itself is
        never used twice nor shown."""
        return hmac.new(self._key, b"wedata-derived-key:" + purpose.encode("utf-8"), hashlib.sha256).digest()

    @staticmethod
    def is_encrypted(value: str) -> bool:
        return value.startswith(PREFIX)

    def encrypt(self, plain: str) -> str:
        return PREFIX + self._fernet.encrypt(plain.encode("utf-8")).decode("ascii")

    def decrypt(self, stored: str) -> str:
        if not stored.startswith(PREFIX):
            raise SecretError("the stored value is not encrypted")
        try:
            return self._fernet.decrypt(stored[len(PREFIX) :].encode("ascii")).decode("utf-8")
        except (InvalidToken, UnicodeError):
            raise SecretError("the stored value was not encrypted with this key") from None

    def encrypt_optional(self, plain: str | None) -> str | None:
        return None if plain is None else self.encrypt(plain)

    def decrypt_optional(self, stored: str | None) -> str | None:
        return None if stored is None else self.decrypt(stored)

    def discard_created_key(self) -> None:
        """Remove the key file this process created (called when it turns out to be the wrong one)."""
        if self.created and self.path is not None:
            self.path.unlink(missing_ok=True)
            self.created = False


def _create_key_file(path: Path) -> bool:
    """Create the key file atomically; False when another process created it first."""
    parent = path.parent
    if not parent.exists():
        parent.mkdir(parents=True, mode=0o700)
        parent.chmod(0o700)  # mkdir's mode is filtered by the umask
    tmp = parent / f".{path.name}.{uuid.uuid4().hex}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, Fernet.generate_key() + b"\n")
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        os.link(tmp, path)
        return True
    except FileExistsError:
        return False
    finally:
        tmp.unlink(missing_ok=True)


def _read_key_file(path: Path) -> bytes:
    try:
        st = os.stat(path)
    except OSError as exc:
        raise KeyFileError(f"Cannot read the key file {path}: {exc.strerror}.") from None
    if not stat.S_ISREG(st.st_mode):
        raise KeyFileError(f"The key file {path} is not a regular file.")
    loose = stat.S_IMODE(st.st_mode) & 0o077
    if loose:
        raise KeyFileError(
            f"The key file {path} has mode {stat.S_IMODE(st.st_mode):04o}: group and others must have no "
            f"access to it. Fix it with `chmod 600 {path}` (and check who may have read it)."
        )
    try:
        with open(path, "rb") as f:
            return f.read().strip()
    except OSError as exc:
        raise KeyFileError(f"Cannot read the key file {path}: {exc.strerror}.") from None
