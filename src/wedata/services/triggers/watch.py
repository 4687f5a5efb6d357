"""Where file-arrival triggers may look, and how a look is done (fsspec).

A ``FileArrivalPath`` is an absolute local directory (``/data/incoming`` or ``file:///data/incoming``)
or an fsspec URL (``s3://bucket/prefix`` ...). The server reads those paths with its own rights,
so a path must lie under one of the **watch roots** (``WEDATA_TRIGGER_WATCH_ROOTS``, comma
separated; default ``WEDATA_HOME/incoming`` plus ``s3://<bucket>`` of the configured object store):
a project member cannot list ``/etc`` through a trigger. A local path is resolved (symlinks, ``..``)
before the check. ``s3://`` URLs of the configured object store's bucket use its endpoint and keys
(storage/objects.py); other URLs use fsspec's own configuration (environment, files).

A scan lists the files (not directories) under the path — every depth when recursive — whose
name matches the pattern (``*`` any characters), with a signature that changes when the file
does: size plus mtime, or the store's ETag. At most ``MAX_FILES`` are looked at per scan.
"""

from __future__ import annotations

import fnmatch
import os
import re
from dataclasses import dataclass
from typing import Any

from wedata.services.errors import InvalidValue

MAX_FILES = 10_000
LOCAL = "file"
_URL = re.compile(r"^([a-z][a-z0-9+.-]*)://(.*)$")


@dataclass(frozen=True, slots=True)
class Roots:
    """The watch roots: local directories (resolved) and URL prefixes (``s3://bucket/prefix``)."""

    local: tuple[str, ...]
    urls: tuple[str, ...]
    s3: dict[str, Any] | None = None  # the configured object store: bucket, endpoint, keys

    @classmethod
    def from_settings(cls, settings: Any) -> Roots:
        given = [r.strip() for r in (getattr(settings, "trigger_watch_roots", ()) or ()) if r.strip()]
        store = None
        if settings.object_store == "s3" and settings.object_store_bucket:
            store = {"bucket": settings.object_store_bucket, "endpoint": settings.object_store_endpoint,
                     "key": settings.object_store_access_key, "secret": settings.object_store_secret_key,
                     "region": settings.object_store_region}
        if not given:
            given = [str(settings.home / "incoming")]
            if store is not None:
                given.append(f"s3://{store['bucket']}")
        local = tuple(os.path.realpath(r) for r in given if not _URL.match(r))
        urls = tuple(r.rstrip("/") for r in given if _URL.match(r))
        return cls(local, urls, store)


def _under(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip("/") + "/")


def check_path(text: str, field: str, roots: Roots) -> str:
    """The FileArrivalPath, checked against the roots: an absolute local path or a URL."""
    m = _URL.match(text)
    if m is None or m.group(1) == LOCAL:
        local = m.group(2) if m else text
        if not local.startswith("/"):
            raise InvalidValue(f"{field} must be an absolute directory path or a URL such as s3://bucket/prefix, "
                               f"got {text!r}")
        resolved = os.path.realpath(local)
        if not any(_under(resolved, root) for root in roots.local):
            raise InvalidValue(f"{field}: {text!r} is not under a watch root of this server "
                               f"(WEDATA_TRIGGER_WATCH_ROOTS: {', '.join(roots.local) or 'no local root'})")
        return resolved
    url = text.rstrip("/")
    if ".." in url.split("/"):
        raise InvalidValue(f"{field} must not contain '..' segments, got {text!r}")
    if not any(_under(url, root) for root in roots.urls):
        raise InvalidValue(f"{field}: {text!r} is not under a watch root of this server "
                           f"(WEDATA_TRIGGER_WATCH_ROOTS: {', '.join(roots.urls) or 'no URL root'})")
    try:
        import fsspec

        fsspec.get_filesystem_class(m.group(1))
    except (ImportError, ValueError) as exc:
        raise InvalidValue(f"{field}: this server cannot read {m.group(1)}:// URLs ({exc})") from None
    return url


@dataclass(frozen=True, slots=True)
class Found:
    path: str  # as the run names it: the local path, or the URL
    size: int | None
    signature: str


def filesystem(path: str, roots: Roots) -> tuple[Any, str, str]:
    """(fsspec filesystem, the path in its terms, the prefix that turns its paths into URLs)."""
    m = _URL.match(path)
    if m is None:
        from fsspec.implementations.local import LocalFileSystem

        return LocalFileSystem(), path, ""
    scheme, rest = m.group(1), m.group(2)
    if scheme in ("s3", "s3a") and roots.s3 is not None and rest.split("/", 1)[0] == roots.s3["bucket"]:
        import s3fs

        s = roots.s3
        client: dict[str, Any] = {"region_name": s["region"] or None}
        if s["endpoint"]:
            client["endpoint_url"] = s["endpoint"]
        fs = s3fs.S3FileSystem(key=s["key"], secret=s["secret"], client_kwargs=client, use_listings_cache=False)
        return fs, rest, f"{scheme}://"
    import fsspec

    fs, inner = fsspec.core.url_to_fs(path)
    return fs, inner, f"{scheme}://"


def _signature(info: dict[str, Any]) -> str:
    for key in ("ETag", "etag", "md5Hash", "mtime", "LastModified", "last_modified", "created"):
        if info.get(key) is not None:
            return f"{key}={info[key]}"
    return "size-only"


def scan(path: str, pattern: str, recursive: bool, roots: Roots) -> list[Found]:
    """The matching files under ``path`` (none when it does not exist yet)."""
    fs, inner, prefix = filesystem(path, roots)
    try:
        listing = fs.find(inner, maxdepth=None if recursive else 1, detail=True)
    except (FileNotFoundError, NotADirectoryError):
        return []
    out: list[Found] = []
    for name, info in sorted(listing.items()):
        if info.get("type") != "file" or info.get("islink"):
            continue  # a symbolic link may lead outside the watch root: not followed
        base = name.rstrip("/").rsplit("/", 1)[-1]
        if not fnmatch.fnmatchcase(base, pattern) or base.startswith("."):
            continue  # hidden files (``.x.part``: a file still being written) never count
        size = info.get("size")
        out.append(Found(prefix + name if prefix else name, int(size) if size is not None else None,
                         _signature(info)))
        if len(out) >= MAX_FILES:
            break
    return out
