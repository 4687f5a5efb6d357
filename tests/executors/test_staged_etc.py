"""The sandbox's /etc copy (executors/staged_etc.py), synced from a directory of our own: files
copied with their mode and owner (a symlink followed), directories and special files left to bind
mounts over empty placeholders, a change on the host copied again by rename (a reader of the old
copy keeps a whole file), an entry gone from the host gone from the copy. Through bubblewrap, in
test_sandbox.py: attempts see the copy as their /etc."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from wedata.executors.staged_etc import StagedEtc

NAMES = ["passwd", "hosts", "localtime", "ssl/certs", "ssl/openssl.cnf", "alternatives", "pipe", "missing",
         "secret.conf"]


def host(tmp_path: Path) -> Path:
    src = tmp_path / "host-etc"
    (src / "ssl" / "certs").mkdir(parents=True)
    (src / "ssl" / "certs" / "ca.pem").write_text("CA")
    (src / "ssl" / "openssl.cnf").write_text("openssl")
    (src / "alternatives").mkdir()
    (src / "passwd").write_text("root:x:0:0::/root:/bin/sh\n")
    (src / "hosts").write_text("127.0.0.1 localhost\n")
    (tmp_path / "zoneinfo").write_text("TZif-zone")
    (src / "localtime").symlink_to(tmp_path / "zoneinfo")
    os.mkfifo(src / "pipe")
    (src / "secret.conf").write_text("password=x\n")
    (src / "secret.conf").chmod(0o600)
    (src / "not-listed").write_text("never copied")
    return src


def synced(tmp_path: Path) -> tuple[Path, Path, StagedEtc]:
    src = host(tmp_path)
    root = tmp_path / "home" / "sandbox" / "etc"
    etc = StagedEtc(str(root), source=str(src))
    etc.sync(NAMES)
    return src, root, etc


def test_files_are_copied_and_directories_and_special_files_left_to_binds(tmp_path: Path) -> None:
    src, root, etc = synced(tmp_path)
    assert sorted(p.relative_to(root).as_posix() for p in root.rglob("*")) == [
        "alternatives", "hosts", "localtime", "passwd", "pipe", "secret.conf", "ssl", "ssl/certs",
        "ssl/openssl.cnf"]
    assert (root / "passwd").read_text() == "root:x:0:0::/root:/bin/sh\n"
    assert (root / "ssl" / "openssl.cnf").read_text() == "openssl"
    # The link is followed, as a bind mount of it was: the zone's bytes, not a link into a path the
    # sandbox may not have.
    assert not (root / "localtime").is_symlink() and (root / "localtime").read_text() == "TZif-zone"
    # Directories: empty placeholders, bound over; the FIFO: an empty placeholder file, bound over.
    assert sorted(etc.dirs) == ["alternatives", "ssl/certs"] and list((root / "ssl" / "certs").iterdir()) == []
    assert etc.bound == ["pipe"] and (root / "pipe").is_file() and (root / "pipe").stat().st_size == 0
    # Modes (and owners) as on the host: a file the run-as user may not read stays unreadable.
    assert stat.S_IMODE((root / "secret.conf").stat().st_mode) == 0o600
    assert (root / "secret.conf").stat().st_uid == (src / "secret.conf").stat().st_uid
    assert stat.S_IMODE(root.stat().st_mode) == 0o755 and stat.S_IMODE((root / "ssl").stat().st_mode) == 0o755
    assert not (root / "not-listed").exists()


def test_a_change_on_the_host_is_copied_again_by_rename(tmp_path: Path) -> None:
    src, root, etc = synced(tmp_path)
    before = (root / "hosts").stat().st_ino
    etc.sync(NAMES)  # nothing changed: nothing copied
    assert (root / "hosts").stat().st_ino == before
    with open(root / "hosts") as reader:
        (src / "hosts").write_text("127.0.0.1 localhost\n10.0.0.9 db.internal\n")
        etc.sync(NAMES)
        assert reader.read() == "127.0.0.1 localhost\n"  # an attempt reading meanwhile: the whole old file
    assert (root / "hosts").read_text().endswith("10.0.0.9 db.internal\n")
    assert (root / "hosts").stat().st_ino != before
    (src / "secret.conf").chmod(0o644)  # a mode change alone is a change
    etc.sync(NAMES)
    assert stat.S_IMODE((root / "secret.conf").stat().st_mode) == 0o644
    assert not [p for p in root.rglob("*") if ".tmp" in p.name or str(os.getpid()) in p.name]
    assert list(Path(f"{root}-tmp").iterdir()) == []  # the temporary files beside the copy: all renamed


def test_two_processes_sharing_the_home_keep_one_another_whole(tmp_path: Path) -> None:
    """Another process's sync never removes this one's temporary file, and a copy that another
    process replaced (here: with an empty file) is copied again instead of taken as current."""
    src, root, etc = synced(tmp_path)
    other = StagedEtc(str(root), source=str(src))
    in_flight = Path(f"{root}-tmp") / "hosts.99999.1"  # the other process, between its copy and its rename
    in_flight.write_text("half")
    other.sync(NAMES)
    assert in_flight.read_text() == "half"
    (root / "passwd").write_text("")
    etc.sync(NAMES)
    assert (root / "passwd").read_text() == "root:x:0:0::/root:/bin/sh\n"


def test_entries_gone_from_the_host_go_from_the_copy(tmp_path: Path) -> None:
    src, root, etc = synced(tmp_path)
    (src / "hosts").unlink()
    (src / "ssl" / "openssl.cnf").unlink()
    (src / "alternatives").rmdir()
    (src / "pipe").unlink()
    (src / "pipe").write_text("now a file")  # a special file that became a regular one is copied
    etc.sync(NAMES)
    assert not (root / "hosts").exists() and not (root / "ssl" / "openssl.cnf").exists()
    assert not (root / "alternatives").exists() and etc.dirs == ["ssl/certs"]
    assert etc.bound == [] and (root / "pipe").read_text() == "now a file"
    # A file that became a directory, and back.
    (src / "passwd").unlink()
    (src / "passwd").mkdir()
    etc.sync(NAMES)
    assert (root / "passwd").is_dir() and "passwd" in etc.dirs
    (src / "passwd").rmdir()
    (src / "passwd").write_text("back\n")
    etc.sync(NAMES)
    assert (root / "passwd").read_text() == "back\n" and "passwd" not in etc.dirs


def test_the_callers_own_binds_under_etc_find_their_mount_points(tmp_path: Path) -> None:
    """WEDATA_SANDBOX_RO_BIND / _BIND paths under /etc are bound by the sandbox over the copy,
    which is read-only in there: an empty entry of the host's kind waits for each, and stays."""
    src, root, etc = synced(tmp_path)
    (src / "oracle").mkdir()
    (src / "oracle" / "tnsnames.ora").write_text("secret-ish")
    (src / "krb5.keytab").write_text("key")
    (src / "tools.d").mkdir()
    points = ["oracle/tnsnames.ora", "krb5.keytab", "tools.d", "passwd", "ssl/certs/ca.pem", "gone"]
    for _ in range(2):
        etc.sync(NAMES, points)
        assert (root / "oracle" / "tnsnames.ora").read_text() == "" and (root / "krb5.keytab").read_text() == ""
        assert (root / "tools.d").is_dir() and list((root / "tools.d").iterdir()) == []
        assert (root / "passwd").read_text() == "root:x:0:0::/root:/bin/sh\n"  # copied: bound over as it is
        assert not (root / "ssl" / "certs" / "ca.pem").exists()  # inside a bound directory: the host's is there
        assert not (root / "gone").exists()
    etc.sync(NAMES)  # no longer bound: the placeholders go
    assert not (root / "oracle").exists() and not (root / "krb5.keytab").exists() and not (root / "tools.d").exists()
