"""The object store of resource files, over fsspec, and the content cache runs are staged from.

Two kinds of store, both addressed by a *key* (``datastudio/resource/<ProjectId>/a/b/x.py``):

- ``local``: a directory, ``WEDATA_HOME/objects`` (always available; the default store);
- ``s3``: any S3-compatible store (AWS S3, MinIO, COS through its S3 API, moto in the tests),
  configured with ``WEDATA_OBJECT_STORE=s3`` and ``WEDATA_OBJECT_STORE_{BUCKET,REGION,ENDPOINT,
  ACCESS_KEY,SECRET_KEY}``. The keys come from the server's environment (like WEDATA_DATABASE_URL,
  whose password is there too) and are never stored in the database, answered or logged.

Keys are confined: every segment is a plain name (no ``.``/``..``, no empty segment, no
backslash or control character), and a local key is resolved and checked to stay under the
store's root (a symlink planted under the root cannot lead a write outside it).

:class:`ContentCache` keeps one read-only copy of each content under ``WEDATA_HOME/cache/<sha256>``;
a run is staged by hard-linking from it (a copy when the cache is on another file system), so a
cached 50 MB resource costs one ``link(2)`` per run (tools/bench/resources.py).
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import shutil
import tempfile
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

LOCAL = "local"
S3 = "s3"
LOCAL_BUCKET = "wedata-local"  # BucketName/CosRegion shown for the local store
LOCAL_REGION = "local"
_CHUNK = 1024 * 1024


class ObjectStoreError(Exception):
    """A key that is not allowed, an object that is missing, a store that is not configured."""


def check_key(key: str) -> str:
    """A relative key made of plain names, returned unchanged; raises ObjectStoreError."""
    if not key or key.startswith("/") or "\\" in key:
        raise ObjectStoreError(f"object key {key!r} must be a relative path of plain names")
    for segment in key.split("/"):
        if segment in ("", ".", ".."):
            raise ObjectStoreError(f"object key {key!r} has an empty, '.' or '..' segment")
        if any(ord(c) < 32 or ord(c) == 127 for c in segment):
            raise ObjectStoreError(f"object key {key!r} contains control characters")
    return key


@dataclass(frozen=True)
class StoreConfig:
    kind: str = LOCAL  # local | s3: where new resource files go
    root: Path | None = None  # local
    bucket: str = LOCAL_BUCKET
    region: str = LOCAL_REGION
    endpoint: str | None = None
    access_key: str | None = None
    secret_key: str | None = None

    @classmethod
    def from_settings(cls, settings: Any) -> StoreConfig:
        if settings.object_store == S3:
            return cls(S3, None, settings.object_store_bucket, settings.object_store_region or "",
                       settings.object_store_endpoint, settings.object_store_access_key,
                       settings.object_store_secret_key)
        return cls(LOCAL, settings.home / "objects")


class ObjectStore:
    """One store. Thread-safe (fsspec filesystems are)."""

    def __init__(self, config: StoreConfig) -> None:
        self.config = config
        self.kind = config.kind
        self.bucket = config.bucket
        self.region = config.region
        self._fs: Any = None
        self._lock = threading.Lock()
        if self.kind == LOCAL:
            assert config.root is not None
            self.root = Path(config.root)
        elif not config.bucket:
            raise ObjectStoreError("WEDATA_OBJECT_STORE=s3 needs WEDATA_OBJECT_STORE_BUCKET")

    @property
    def fs(self) -> Any:
        with self._lock:
            if self._fs is None:
                if self.kind == LOCAL:
                    from fsspec.implementations.local import LocalFileSystem

                    self._fs = LocalFileSystem()
                else:
                    import s3fs

                    c = self.config
                    client: dict[str, Any] = {"region_name": c.region or None}
                    if c.endpoint:
                        client["endpoint_url"] = c.endpoint
                    self._fs = s3fs.S3FileSystem(key=c.access_key, secret=c.secret_key, client_kwargs=client,
                                                 anon=False, use_listings_cache=False)
            return self._fs

    def _path(self, key: str) -> str:
        check_key(key)
        if self.kind == LOCAL:
            root = os.path.realpath(self.root)
            full = os.path.realpath(os.path.join(root, key))
            if not full.startswith(root + os.sep):
                raise ObjectStoreError(f"object key {key!r} leads outside the store")
            return full
        return f"{self.bucket}/{key}"

    def size(self, key: str) -> int | None:
        """The object's size, or None when there is no object at ``key``."""
        path = self._path(key)
        try:
            info = self.fs.info(path)
        except (FileNotFoundError, NotADirectoryError):
            return None
        if info.get("type") != "file":
            return None
        return int(info["size"])

    def open(self, key: str) -> BinaryIO:
        try:
            return self.fs.open(self._path(key), "rb")  # type: ignore[no-any-return]
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise ObjectStoreError(f"there is no object at {key}") from None

    def digest(self, key: str) -> tuple[str, int]:
        """(sha256 hex, size), reading the object once."""
        h = hashlib.sha256()
        size = 0
        with self.open(key) as f:
            for chunk in iter(lambda: f.read(_CHUNK), b""):
                h.update(chunk)
                size += len(chunk)
        return h.hexdigest(), size

    def put_file(self, source: str | Path, key: str) -> None:
        """Store a local file at ``key`` (replacing what is there, atomically for a reader)."""
        path = self._path(key)
        if self.kind == LOCAL:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            self._path(key)  # re-check after the directories exist (a symlinked parent)
            tmp = os.path.join(os.path.dirname(path), f".{uuid.uuid4().hex}.part")
            shutil.copyfile(source, tmp)
            os.replace(tmp, path)
        else:
            self.fs.put_file(str(source), path)

    def download(self, key: str, dest: str | Path) -> None:
        if self.kind == LOCAL:
            shutil.copyfile(self._path(key), dest)
        else:
            try:
                self.fs.get_file(self._path(key), str(dest))
            except FileNotFoundError:
                raise ObjectStoreError(f"there is no object at {key}") from None

    def delete(self, key: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.fs.rm_file(self._path(key))


class Stores:
    """The stores a process reaches: the local one always, the S3 one when configured."""

    def __init__(self, settings: Any) -> None:
        config = StoreConfig.from_settings(settings)
        self.local = ObjectStore(StoreConfig(LOCAL, settings.home / "objects"))
        self.active = self.local if config.kind == LOCAL else ObjectStore(config)
        self.max_bytes: int = settings.resource_max_bytes
        self.cache = ContentCache(settings.home / "cache" / "objects")

    def get(self, kind: str, bucket: str) -> ObjectStore:
        """The store a resource file lives in; ObjectStoreError when this server cannot reach it."""
        if kind == LOCAL:
            return self.local
        if self.active.kind == kind and self.active.bucket == bucket:
            return self.active
        raise ObjectStoreError(f"the {kind} bucket {bucket!r} is not configured on this server "
                               "(WEDATA_OBJECT_STORE_*)")


class ContentCache:
    """Read-only files named by their sha256; filled by a download (verified) or an upload."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def path(self, sha256: str) -> Path:
        if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
            raise ObjectStoreError(f"not a sha256: {sha256!r}")
        return self.root / sha256[:2] / sha256

    def _incoming(self) -> str:
        self.root.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".in-", dir=self.root)
        os.close(fd)
        return tmp

    def _settle(self, tmp: str, sha256: str) -> Path:
        final = self.path(sha256)
        final.parent.mkdir(parents=True, exist_ok=True)
        os.chmod(tmp, 0o444)  # a run's hard link must not be able to change the cached content
        # mtime 0 marks an untouched entry: where a task could still write through its hard link
        # (no isolation, root), the write changes the mtime and the entry is fetched again.
        os.utime(tmp, ns=(0, 0))
        os.replace(tmp, final)
        return final

    def add(self, source: str | Path, sha256: str) -> None:
        """Cache a file whose hash is known (just verified by an upload): a private copy."""
        if self.path(sha256).exists():
            return
        tmp = self._incoming()
        try:
            shutil.copyfile(source, tmp)
            self._settle(tmp, sha256)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)

    def ensure(self, store: ObjectStore, key: str, sha256: str, size: int) -> Path:
        """The cached file of ``sha256``, downloading ``key`` once; ObjectStoreError when the
        object is missing or its content is no longer the registered one."""
        final = self.path(sha256)
        try:
            st = final.stat()
        except FileNotFoundError:
            pass
        else:
            if st.st_size == size and st.st_mtime_ns == 0:
                return final
            final.unlink()  # changed since it was cached: fetch it again
        tmp = self._incoming()
        try:
            store.download(key, tmp)
            h = hashlib.sha256()
            with open(tmp, "rb") as f:
                for chunk in iter(lambda: f.read(_CHUNK), b""):
                    h.update(chunk)
            if h.hexdigest() != sha256:
                raise ObjectStoreError(f"the object at {key} changed since it was registered (sha256 "
                                       f"{h.hexdigest()[:12]}…, expected {sha256[:12]}…): register it again")
            return self._settle(tmp, sha256)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)

    def link_into(self, cached: Path, dest: Path) -> None:
        """Hard-link the cached file at ``dest`` (a copy across file systems)."""
        try:
            os.link(cached, dest)
        except OSError as exc:
            if exc.errno not in (errno.EXDEV, errno.EPERM, errno.EMLINK):
                raise
            shutil.copyfile(cached, dest)
            os.chmod(dest, 0o444)
