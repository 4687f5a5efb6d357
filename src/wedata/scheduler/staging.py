"""Resource files of an attempt: which ones (resolved in the claim's transaction, a cheap indexed
read) and their bytes in the run directory (staged after the commit, before the start).

``resolve`` turns the task's references (executors/tasktypes.py ``resource_refs``: ResourceIds,
RemotePaths, LocalPaths or ``/folder/name``) into :class:`StagedResource` records of the content
registered now, so a re-upload between two runs takes effect at the next claim and an attempt
runs the content it was claimed with. ``stage`` runs in the engine's after-phase (cycle.spawn),
outside every transaction: a cached content is one hard link per file (``storage/objects.py``
ContentCache); a cache miss downloads once from the file's store and verifies the hash. The
files land in ``<run_dir>/resources/``, which the sandbox binds read-only with the run directory
(executors/sandbox.py), and the cached inode is 0444: a task cannot change what later runs get.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, or_, select

from wedata.executors.base import RunSpec, StagedResource
from wedata.storage.objects import ObjectStoreError, Stores
from wedata.storage.resource_tables import resource_files

R = resource_files
_PREFIX = "/datastudio/resource"
RESOURCES_DIR = "resources"


def _aliases(folder: str, name: str) -> tuple[str, str]:
    tail = "" if folder == "/" else folder
    return f"{_PREFIX}{tail}/{name}", f"{tail}/{name}"


def resolve(conn: Connection, project_id: str, refs: Sequence[str]) -> tuple[list[StagedResource], str | None]:
    """The resources named by ``refs`` (in their order), or an error naming what is missing."""
    if not refs:
        return [], None
    basenames = {ref.rsplit("/", 1)[-1] for ref in refs}
    rows = conn.execute(select(R.c.id, R.c.folder_path, R.c.name, R.c.remote_path, R.c.sha256, R.c.size, R.c.store,
                               R.c.bucket).where(
        R.c.project_id == project_id, or_(R.c.id.in_(refs), R.c.remote_path.in_(refs), R.c.name.in_(basenames)),
    )).all()
    by_ref: dict[str, Any] = {}
    for found in rows:
        for alias in (found.id, found.remote_path, *_aliases(found.folder_path, found.name)):
            by_ref.setdefault(alias, found)
    out: list[StagedResource] = []
    missing: list[str] = []
    for ref in refs:
        row = by_ref.get(ref)
        if row is None:
            missing.append(ref)
            continue
        staged = StagedResource(row.name, row.sha256, row.size, row.store, row.bucket, row.remote_path.lstrip("/"))
        if any(s.name == staged.name and s.sha256 != staged.sha256 for s in out):
            return [], f"two resource files named {staged.name} would be staged into resources/"
        if staged not in out:
            out.append(staged)
    if missing:
        return [], ("resource file(s) not found in the project: " + ", ".join(missing)
                    + " (ext key resourceFiles / ftp.file.name names a ResourceId or a resource path)")
    return out, None


def resources_dir(run_dir: str) -> str:
    return os.path.join(run_dir, RESOURCES_DIR)


def stage(stores: Stores, spec: RunSpec) -> str | None:
    """Put the attempt's resources into its run directory; an error message, or None."""
    target = Path(resources_dir(spec.run_dir))
    try:
        target.mkdir(parents=True, exist_ok=True)
        for res in spec.resources:
            try:
                cached = stores.cache.ensure(stores.get(res.store, res.bucket), res.key, res.sha256, res.size)
            except ObjectStoreError as exc:
                return f"cannot stage the resource file {res.name}: {exc}"
            dest = target / res.name
            if not dest.exists():
                stores.cache.link_into(cached, dest)
        target.chmod(0o755)  # readable by a run-as user; the sandbox binds it read-only
    except OSError as exc:
        return f"cannot stage the resource files into {target}: {exc.strerror or exc}"
    return None
