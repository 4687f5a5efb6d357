"""The sandbox's ``/etc``: one directory bound whole instead of a bind mount per file.

bubblewrap makes one mount (and one read-only remount) for each ``--ro-bind``. Bound one by one,
the ~25 ``/etc`` files of the allow-list (sandbox.ETC_FILES) took about 3 of the ~11 ms a sandboxed
``true`` took to start and end on a 2-core machine. bwrap was asked for 50 mounts and directories
then, and 25 now (tools/bench/sandbox.py; docs/engine.md, "The sandbox's /etc in one mount"). So
the allow-listed regular files are copied into ``<WEDATA_HOME>/sandbox/etc``, and that directory
is bound as ``/etc``:

- Only what the allow-list names is copied, with its mode and (as root) its owner: a file the
  run-as user may not read on the host stays unreadable inside. A symlink is followed, as a
  bind mount of it was (``/etc/resolv.conf`` pointing into ``/run`` still works inside).
- Directories of the list (``ld.so.conf.d``, ``ssl/certs``, ``alternatives``, ...) stay bind
  mounts over an empty directory of the same name here: they follow the host live, and copying
  a tree of symlinks to keep in step is more work than the handful of mounts it saves.
- A file the server cannot read, or that is not a regular file, is bound as before (over an
  empty placeholder), never copied.
- :meth:`StagedEtc.sync` runs when the sandbox rebuilds its shared mounts (at most once a
  minute): a file whose identity, size, time or mode changed on the host is copied again and
  renamed into place, so an attempt started later sees it (as one started after the host's
  change saw a bind of the new file before); an entry gone from the host goes from here too.
  Files are replaced by rename, never rewritten in place: an attempt running meanwhile keeps
  reading a whole file. Several processes sharing one home may sync at once: each writes its own
  temporary file, in a directory beside the copy (``etc-tmp``) where no sync removes it, and the
  renames are atomic. A copy is taken as up to date only while it is a regular file of the
  source's size, so one that another process replaced is copied again.

The directory lives in ``WEDATA_HOME`` (0700 for the user modes; hidden from every attempt by
the tmpfs over the home): nobody reaches it on the host but the server, and attempts see it only
as their ``/etc``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field

# A file's identity as far as copying goes: when any of it changes, the copy is made again.
_Key = tuple[int, int, int, int, int, int, int]


@dataclass
class StagedEtc:
    """A copy of the allow-listed ``/etc`` files in ``root``, with placeholders for the entries
    still bound (``dirs``, ``bound``: names relative to ``/etc``, as of the last :meth:`sync`)."""

    root: str
    source: str = "/etc"
    dirs: list[str] = field(default_factory=list)  # bound: directories
    bound: list[str] = field(default_factory=list)  # bound: files not copied (unreadable, special)
    _seen: dict[str, _Key] = field(default_factory=dict, repr=False)

    def sync(self, names: Iterable[str], mountpoints: Iterable[str] = ()) -> None:
        """Bring the copy in step with the host for ``names`` (relative to ``source``).

        ``mountpoints`` (relative too) are where the caller binds more of the host's ``/etc``
        itself (``WEDATA_SANDBOX_RO_BIND`` / ``WEDATA_SANDBOX_BIND`` paths under it): bubblewrap
        cannot create a mount point inside the read-only copy, so an empty directory or file of
        the host entry's kind waits there for each."""
        _make_dir(self.root)
        names = list(names)
        dirs: list[str] = []
        bound: list[str] = []
        wanted: set[str] = set()
        for name in mountpoints:
            if name in names or any(name.startswith(d + "/") for d in names):
                continue  # the entry is copied or bound already: the caller's bind goes over it
            try:
                st = os.stat(os.path.join(self.source, name))
            except OSError:
                continue
            wanted.add(name)
            self._stand_in(name, st)
        for name in names:
            src, dst = os.path.join(self.source, name), os.path.join(self.root, name)
            try:
                st = os.stat(src)  # follows a symlink, as bwrap's bind of it did
            except OSError:
                continue  # absent (or a dangling link): not in the sandbox either
            wanted.add(name)
            if stat.S_ISDIR(st.st_mode):
                self._stand_in(name, st)
                dirs.append(name)
                continue
            key = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_mode, st.st_uid, st.st_gid)
            if self._seen.get(name) == key and _is_copy_of(dst, st):
                continue
            _make_parents(self.root, name)
            if stat.S_ISREG(st.st_mode) and self._copy(src, dst, st):
                self._seen[name] = key
                continue
            self._stand_in(name, st)
            self._seen.pop(name, None)
            bound.append(name)
        # Entries that went from the host, or left the list.
        for name in list(self._seen):
            if name not in wanted:
                del self._seen[name]
        for name in self._listed_here() - wanted - _parents_of(wanted):
            _remove(os.path.join(self.root, name))
        self.dirs, self.bound = dirs, bound

    def _stand_in(self, name: str, st: os.stat_result) -> None:
        """An empty entry of the host entry's kind (directory or file) for a bind to go over."""
        _make_parents(self.root, name)
        dst = os.path.join(self.root, name)
        if stat.S_ISDIR(st.st_mode):
            _replace_with_dir(dst)
        else:
            _placeholder_file(dst, self._tmp(name))

    @property
    def _tmp_dir(self) -> str:
        return self.root.rstrip("/") + "-tmp"

    def _tmp(self, name: str) -> str:
        os.makedirs(self._tmp_dir, mode=0o700, exist_ok=True)
        return os.path.join(self._tmp_dir, f"{name.replace('/', '_')}.{os.getpid()}.{threading.get_ident()}")

    def _copy(self, src: str, dst: str, st: os.stat_result) -> bool:
        tmp = self._tmp(os.path.relpath(dst, self.root))
        try:
            shutil.copyfile(src, tmp)
            os.chmod(tmp, stat.S_IMODE(st.st_mode))
            if os.geteuid() == 0:
                os.chown(tmp, st.st_uid, st.st_gid)
            if os.path.isdir(dst) and not os.path.islink(dst):
                shutil.rmtree(dst)
            os.replace(tmp, dst)
        except OSError:  # unreadable by the server (or gone meanwhile): bound instead
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            return False
        return True

    def _listed_here(self) -> set[str]:
        """Every entry under ``root`` (files, placeholders, parents), relative to it."""
        found: set[str] = set()
        for dirpath, dirnames, filenames in os.walk(self.root):
            rel = os.path.relpath(dirpath, self.root)
            for name in dirnames + filenames:  # a bound directory's stand-in is empty on the host
                found.add(name if rel == "." else os.path.join(rel, name))
        return found


def _parents_of(names: Iterable[str]) -> set[str]:
    out: set[str] = set()
    for name in names:
        parent = os.path.dirname(name)
        while parent:
            out.add(parent)
            parent = os.path.dirname(parent)
    return out


def _make_dir(path: str) -> None:
    os.makedirs(path, exist_ok=True)
    os.chmod(path, 0o755)  # it is the attempts' /etc: the run-as user must traverse it


def _make_parents(root: str, name: str) -> None:
    parent = os.path.dirname(name)
    if parent:
        path = os.path.join(root, parent)
        if os.path.lexists(path) and not os.path.isdir(path):
            os.unlink(path)
        os.makedirs(path, exist_ok=True)
        for part in _parents_of([name]):
            os.chmod(os.path.join(root, part), 0o755)


def _replace_with_dir(path: str) -> None:
    if os.path.lexists(path) and (os.path.islink(path) or not os.path.isdir(path)):
        os.unlink(path)
    os.makedirs(path, exist_ok=True)
    os.chmod(path, 0o755)


def _is_copy_of(path: str, source: os.stat_result) -> bool:
    try:
        st = os.lstat(path)
    except OSError:
        return False
    return stat.S_ISREG(st.st_mode) and st.st_size == source.st_size


def _placeholder_file(path: str, tmp: str) -> None:
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path)
    if not (os.path.isfile(path) and not os.path.islink(path) and os.path.getsize(path) == 0):
        with open(tmp, "w"):
            pass
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)


def _remove(path: str) -> None:
    with contextlib.suppress(OSError):
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path)
        else:
            os.unlink(path)
