"""Runs one notebook headless: the program of a Notebook task's attempt (type 132).

This file is copied into the attempt's run directory and run there by the server's own
interpreter (executors/tasktypes.py), inside the attempt's sandbox: it imports nothing of
wedata, only nbformat and nbclient (and, in the kernel, ipykernel), so it works wherever that
interpreter's packages are visible.

``python run_notebook.py NOTEBOOK OUTPUT``: executes every cell in order with nbclient on a
``python3`` kernel of this same interpreter, the working directory being the attempt's own
(``work/``), and prints each cell's outputs as they arrive (stream text, ``text/plain`` of
results and displays, errors with their traceback), so the instance log reads like the
notebook. The executed notebook (with its outputs, also after a failed cell) is written to
OUTPUT; the engine keeps it next to the instance log. Exit status: 0 when every cell ran, 1 when
a cell raised (the log names it), 2 when the notebook could not be read or the kernel not
started.
"""

from __future__ import annotations

import os
import re
import sys
from typing import Any

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def _say(text: str) -> None:
    sys.stdout.write(text if text.endswith("\n") else text + "\n")
    sys.stdout.flush()


def _text(value: Any) -> str:
    return "".join(value) if isinstance(value, list) else str(value)


def render_output(output: Any) -> str:
    """One output of a cell as log text."""
    kind = output.get("output_type")
    if kind == "stream":
        return _text(output.get("text", ""))
    if kind in ("execute_result", "display_data"):
        data = output.get("data", {})
        if "text/plain" in data:
            return _text(data["text/plain"])
        return "[" + ", ".join(sorted(data)) + "]"
    if kind == "error":
        trace = "\n".join(_ANSI.sub("", line) for line in output.get("traceback", []))
        return trace or f"{output.get('ename')}: {output.get('evalue')}"
    return ""


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        _say("usage: run_notebook.py NOTEBOOK OUTPUT")
        return 2
    source, target = argv[1], argv[2]
    # The kernel is this interpreter's ipykernel: its bin directory first on PATH, so the
    # kernelspec's "python" is this one.
    os.environ["PATH"] = os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", "")
    os.environ.setdefault("JUPYTER_PLATFORM_DIRS", "1")
    try:
        import nbformat
        from nbclient import NotebookClient
        from nbclient.exceptions import CellExecutionError
    except ImportError as exc:
        _say(f"cannot run notebooks here: {exc} (the server's Python needs nbclient and ipykernel)")
        return 2
    try:
        nb = nbformat.read(source, as_version=4)
    except Exception as exc:  # any unreadable notebook ends the attempt with the reason
        _say(f"cannot read the notebook: {exc}")
        return 2
    cells = [c for c in nb.cells if c.cell_type == "code"]
    _say(f"notebook: {len(cells)} code cell(s), kernel python3")

    def executed(cell: Any, cell_index: int, execute_reply: Any) -> None:
        if cell.cell_type != "code":
            return
        _say(f"--- cell {cell_index + 1} [{cell.get('execution_count')}] ---")
        for output in cell.get("outputs", []):
            text = render_output(output)
            if text:
                _say(text)

    from traitlets.config import Config

    config = Config()
    # Unix sockets in the working directory, not TCP ports any local process could reach.
    config.KernelManager.transport = "ipc"
    config.KernelManager.ip = os.path.join(os.getcwd(), ".kernel")
    client = NotebookClient(nb, kernel_name="python3", timeout=None, allow_errors=False, config=config,
                            resources={"metadata": {"path": os.getcwd()}}, on_cell_executed=executed)
    code = 0
    try:
        client.execute()
    except CellExecutionError as exc:
        last = _ANSI.sub("", str(exc)).strip().splitlines()
        _say(f"a cell failed: {last[-1] if last else type(exc).__name__}")
        code = 1
    except Exception as exc:  # the kernel could not start or died
        _say(f"the notebook could not be run: {type(exc).__name__}: {exc}")
        code = 2
    finally:
        try:
            nbformat.write(nb, target)
            _say(f"executed notebook written ({os.path.basename(target)})")
        except OSError as exc:
            _say(f"cannot write the executed notebook: {exc}")
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv))
