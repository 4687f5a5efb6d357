"""Resource paths: RemotePath/LocalPath layout, the project's object prefix, and which resource a
task's reference names (a ResourceId, a RemotePath, a LocalPath or ``/folder/name``)."""

from __future__ import annotations

from typing import Any

from wedata.services.errors import InvalidValue
from wedata.services.folders import ROOT, join_path
from wedata.storage.objects import ObjectStoreError, check_key

PREFIX = "/datastudio/resource"


def remote_path(project_id: str, folder: str, name: str) -> str:
    return f"{PREFIX}/{project_id}{'' if folder == ROOT else folder}/{name}"


def local_path(folder: str, name: str) -> str:
    return f"{PREFIX}{'' if folder == ROOT else folder}/{name}"


def object_key(project_id: str, path: str | None, field: str) -> str:
    """The store key of a RemotePath the client sent: under the project's own prefix, plain names."""
    own = f"{PREFIX}/{project_id}/"
    if not path or not path.startswith(own):
        raise InvalidValue(f"{field} must be an object path under {own} (e.g. {own}folder/name), got {path!r}")
    try:
        return check_key(path[1:])
    except ObjectStoreError as exc:
        raise InvalidValue(f"{field}: {exc}") from None


def names(row: Any) -> set[str]:
    """Every way a task may name the resource file ``row``."""
    return {row.id, row.remote_path, local_path(row.folder_path, row.name), join_path(row.folder_path, row.name)}


def human_size(size: int) -> str:
    """``Size`` as WeData shows it ("205 MB")."""
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.3g} {unit}"
        value /= 1024
    return f"{size} B"


def extension(name: str) -> str:
    return name.rsplit(".", 1)[1].lower() if "." in name.strip(".") else ""
