"""Unpacks a Shell form-mode package (task type 38) into the attempt's working directory.

Copied into the run directory as ``unpack_package.py`` and run there by the server's
interpreter (``-I``) inside the attempt's sandbox (executors/shell_form.py); it imports only the
standard library. ``python unpack_package.py PACKAGE DEST``: an archive (zip, tar, tar.gz/tgz,
tar.bz2/tbz2, tar.xz/txz, by its name) is extracted into DEST with the ``data`` filter (members
with absolute paths, ``..``, links leaving DEST or special files are refused; zip members with
such names are skipped by the standard library); any other file is copied into DEST,
executable. Exit status 2 with a message when the package cannot be read.
"""

from __future__ import annotations

import os
import shutil
import sys

FORMATS = ((".zip", "zip"), (".tar.gz", "gztar"), (".tgz", "gztar"), (".tar.bz2", "bztar"), (".tbz2", "bztar"),
           (".tar.xz", "xztar"), (".txz", "xztar"), (".tar", "tar"))


def archive_format(name: str) -> str | None:
    lower = name.lower()
    return next((fmt for suffix, fmt in FORMATS if lower.endswith(suffix)), None)


def unpack(package: str, dest: str) -> str:
    name = os.path.basename(package)
    fmt = archive_format(name)
    if fmt is None:
        target = os.path.join(dest, name)
        shutil.copyfile(package, target)
        os.chmod(target, 0o755)
        return f"copied the package {name} into the working directory"
    if fmt == "zip":
        shutil.unpack_archive(package, dest, fmt)
    else:
        shutil.unpack_archive(package, dest, fmt, filter="data")
    return f"unpacked the package {name} into the working directory"


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        sys.stderr.write("usage: unpack_package.py PACKAGE DEST\n")
        return 2
    try:
        message = unpack(argv[1], argv[2])
    except Exception as exc:  # any failure is the package's: say which and why
        sys.stderr.write(f"cannot unpack the package {os.path.basename(argv[1])}: {exc}\n")
        return 2
    sys.stdout.write(message + "\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
