"""The README's five-minute tour, run as written: the CLI block through bash (with `.venv/bin/wedata`
pointing at this tree's CLI) and the SDK block through Python, against a live server. Only the
endpoint and the tour's credential are replaced by the test server's."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from tests.cli.clitools import base_env
from tests.support import ADMIN_ID, ADMIN_KEY, ROOT, ServerProcess

README = ROOT / "README.md"
TOUR_ID = "AKIDTOUR00000000000000000000000001"
TOUR_KEY = "tour-secret-key-change-me"


def block(marker: str) -> str:
    text = README.read_text()
    m = re.search(rf"<!-- {re.escape(marker)}\b[^>]*-->\s*```\w*\n(.*?)```", text, re.S)
    assert m, f"README has no {marker} block"
    return m.group(1)


def for_server(code: str, server: ServerProcess) -> str:
    assert "127.0.0.1:8080" in code and TOUR_ID in code and TOUR_KEY in code
    return code.replace("127.0.0.1:8080", server.endpoint).replace(TOUR_ID, ADMIN_ID).replace(TOUR_KEY, ADMIN_KEY)


def test_the_readme_starts_the_server_with_the_tour_credential() -> None:
    text = README.read_text()
    assert f"WEDATA_SECRET_ID={TOUR_ID} WEDATA_SECRET_KEY={TOUR_KEY} make run" in text


def test_the_cli_tour_works_as_written(server: ServerProcess, tmp_path: Path) -> None:
    # `.venv/bin/wedata` of the tour is this tree's CLI, run by the test's interpreter.
    venv_bin = tmp_path / ".venv" / "bin"
    venv_bin.mkdir(parents=True)
    wrapper = venv_bin / "wedata"
    wrapper.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m wedata.cli.main "$@"\n')
    wrapper.chmod(0o755)
    script = tmp_path / "tour.sh"
    script.write_text("set -euo pipefail\nset -x\n" + for_server(block("tour:cli"), server))
    env = base_env(tmp_path / "config")
    env["PYTHONPATH"] = str(ROOT / "src")
    res = subprocess.run(["bash", str(script)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    out, err = res.stdout, res.stderr
    assert res.returncode == 0, f"{out}\n{err}"
    assert "Traceback" not in err
    assert "└── hello  [" in out  # workflows show
    assert "hello from 20" in out and "step 3" in out  # run --log, logs, logs -f
    assert re.search(r"_\d{4}-\d{2}-\d{2} 00:00:00 COMPLETED \(cost", out)  # run: a daily instance
    assert out.count("step 3") >= 3  # the run's log, `logs` and the rerun followed by `logs -f`
    assert "rerun: SUCCESS" in out
    assert "3 of 3 instance(s) COMPLETED" in err  # the backfill


def test_the_sdk_tour_works_as_written(server: ServerProcess, tmp_path: Path) -> None:
    script = tmp_path / "tour.py"
    script.write_text(for_server(block("tour:sdk"), server))
    env = base_env(tmp_path / "config")
    res = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env, capture_output=True, text=True,
                         timeout=300)
    assert res.returncode == 0, f"{res.stdout}\n{res.stderr}"
    assert re.search(r"_2025-01-01 00:00:00 COMPLETED\n", res.stdout)
    assert "hello from 20250101" in res.stdout and "step 3" in res.stdout
    assert "after the rerun: COMPLETED runs: 2" in res.stdout
