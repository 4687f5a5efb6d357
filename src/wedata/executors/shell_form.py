"""Shell form mode (task type 38): an uploaded package plus a command, as WeData's form has it.

The ext keys (the spec's TaskExtInfo for 38): ``ftp.file.name`` names the package, a resource
file of the project (its RemotePath, LocalPath, ``/folder/name`` or ResourceId);
``shell.cmd`` the entry (a script inside the package, e.g. ``echo.sh`` or ``tool/run.sh``, or a
command line); ``shell.args`` its arguments (shell words). The package is staged into the run
directory like every resource file (scheduler/staging.py, ``$WEDATA_RESOURCES/$WEDATA_PACKAGE``).

The attempt runs ``task.sh``, written here: it first unpacks the package into the task's own
working directory ``work/`` with ``unpack_package.py`` (copied beside it, stdlib only, run by the
server's interpreter inside the attempt's sandbox, so the unpacking costs the task's own limits):
zip, tar, tar.gz/tgz, tar.bz2, tar.xz archives are extracted with the standard library's safe
``data`` filter (no absolute paths, no ``..``, no links out of ``work/``, no devices); any
other file is copied in as it is. Then, when ``shell.cmd`` names a file there, ``bash <file>
<args>`` runs it; otherwise ``<shell.cmd> <args>`` runs as a command line. The task's code
(``CodeContent``, empty in WeData's form) is the command line when ``shell.cmd`` is empty.
``${...}`` parameters in the command and arguments are rendered like a Shell task's code.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from functools import cache
from pathlib import Path

PACKAGE_KEY = "ftp.file.name"
CMD_KEY = "shell.cmd"
ARGS_KEY = "shell.args"
UNPACKER = "unpack_package.py"


def form_problem(ext: Mapping[str, str], code: str) -> str | None:
    """Why a Shell form-mode task cannot run (for SubmitTask), or None."""
    if not (ext.get(PACKAGE_KEY) or "").strip():
        return f"TaskExtConfigurationList: a Shell form-mode task (38) names its package in the ext key {PACKAGE_KEY}"
    if not (ext.get(CMD_KEY) or "").strip() and not code.strip():
        return f"TaskExtConfigurationList: a Shell form-mode task (38) names what to run in the ext key {CMD_KEY}"
    return None


def form_source(ext: Mapping[str, str], code: str) -> str:
    """What is rendered for a Shell form-mode attempt: ``shell.cmd shell.args``, or the code."""
    cmd = (ext.get(CMD_KEY) or "").strip()
    if not cmd:
        return code
    args = (ext.get(ARGS_KEY) or "").strip()
    return f"{cmd} {args}" if args else cmd


def form_command(command_line: str, run_dir: str, interpreter: str) -> tuple[list[str], dict[str, str]]:
    """The argv, and the files it needs in ``run_dir`` (``task.sh``: unpack, then run; the
    unpacker beside it), not written yet: the executor writes them when it starts the attempt."""
    unpacker = Path(run_dir, UNPACKER)
    first, _, rest = command_line.strip().partition(" ")
    script = "\n".join([
        "set -e",
        'if [ -n "${WEDATA_PACKAGE:-}" ]; then',
        f'  {shlex.quote(interpreter)} -I {shlex.quote(str(unpacker))} "$WEDATA_RESOURCES/$WEDATA_PACKAGE" .',
        "fi",
        "set +e",
        f"if [ -f {shlex.quote(first)} ]; then",
        f"  exec /bin/bash {shlex.quote(first)} {rest}",
        "fi",
        command_line,
        "",
    ])
    path = Path(run_dir, "task.sh")
    return ["/bin/bash", str(path)], {"task.sh": script, UNPACKER: packaged_text("form_unpack.py")}


@cache
def packaged_text(name: str) -> str:
    """A helper script shipped beside this module (read once per process)."""
    return Path(__file__).with_name(name).read_text(encoding="utf-8")
