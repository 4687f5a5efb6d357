"""Start each of a list of Python scripts with ``--help``, as ``python SCRIPT --help`` would, in
children forked from one interpreter that has already imported what the scripts import at their
top (read from their source). A new interpreter per script spent ~1.2 s of CPU on those imports
(tests/test_tools.py starts twenty of them); what each child does is the script's own: its module
code runs as ``__main__`` with its directory first on ``sys.path``, and its exit status and output
are its own.

Usage: ``python tests/script_starts.py SCRIPT...``; prints one JSON object: script -> [exit code,
output].
"""

from __future__ import annotations

import ast
import contextlib
import importlib
import json
import os
import runpy
import sys
import traceback


def _top_imports(path: str) -> list[str]:
    with open(path, encoding="utf-8") as source:
        tree = ast.parse(source.read(), path)
    names: list[str] = []
    for node in tree.body:
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.append(node.module)
    return names


def _run(script: str) -> int:
    sys.argv = [script, "--help"]
    sys.path[0] = os.path.dirname(os.path.abspath(script))
    try:
        runpy.run_path(script, run_name="__main__")
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException:  # noqa: BLE001 (reported as the script's output, as Python would)
        traceback.print_exc()
        return 1
    return 0


def main(scripts: list[str]) -> None:
    root = os.getcwd()
    sys.path[:0] = [root, os.path.join(root, "src")]  # as the scripts put them
    for script in scripts:
        for name in _top_imports(script):
            with contextlib.suppress(Exception):  # the child meets the same failure, and says it
                importlib.import_module(name)
    results: dict[str, tuple[int, str]] = {}
    for script in scripts:
        sys.stdout.flush()
        sys.stderr.flush()
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                os.close(r)
                os.dup2(w, 1)
                os.dup2(w, 2)
                code = _run(script)
            finally:
                with contextlib.suppress(BaseException):
                    sys.stdout.flush()
                    sys.stderr.flush()
                os._exit(code)
        os.close(w)
        chunks = []
        with os.fdopen(r, "rb") as pipe:
            while chunk := pipe.read(65536):
                chunks.append(chunk)
        _, status = os.waitpid(pid, 0)
        results[script] = (os.waitstatus_to_exitcode(status), b"".join(chunks).decode(errors="replace"))
    print(json.dumps(results))


if __name__ == "__main__":
    main(sys.argv[1:])
