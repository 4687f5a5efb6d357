"""Sandbox benchmark: what task isolation adds to each attempt, outside the engine.

The local executor's command for a Shell attempt of ``true`` is built as the engine builds it
(executors/sandbox.py and the wrapper of executors/local.py, in a scratch ``WEDATA_HOME``) and
started ``--runs`` times with ``posix_spawn`` (in its own session, as the executor starts it), each
waited for before the next. Printed per isolation: the mounts and directories bubblewrap is asked
for, the wall time from spawn to exit (median of ``--rounds`` rounds), and the CPU of the processes
started (user and kernel). The rest of an attempt's start (log header, run directory, code file:
the launcher) is in docs/engine.md.

The modes other than ``none`` need bubblewrap, and the user modes a root caller and the run-as
user (``wedata setup-sandbox``); a mode that does not work here is reported and skipped.

Usage: ``python tools/bench/sandbox.py [--modes none,user,bwrap,bwrap+user] [--runs 300] [--rounds 3]``
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "src"))

from wedata.executors.base import RunSpec  # noqa: E402
from wedata.executors.local import SHELL, WRAPPER  # noqa: E402
from wedata.executors.sandbox import Sandbox, SandboxError, SandboxSettings  # noqa: E402
from wedata.executors.tasktypes import command_for, write_files  # noqa: E402

MOUNT_ARGS = ("--ro-bind", "--bind", "--tmpfs", "--dir", "--proc", "--dev", "--symlink")


def attempt(home: Path) -> RunSpec:
    run_dir = home / "run" / "1.0.1"
    command = command_for(35, "true\n", {}, str(run_dir))
    spec = RunSpec(1, command.argv, str(run_dir / "work"), str(home / "1.log"), str(run_dir), files=command.files)
    write_files(spec.run_dir, spec.files)
    return spec


def measure(mode: str, runs: int, rounds: int) -> str:
    home = Path(tempfile.mkdtemp(prefix="wedata-sandbox-bench-")) / "home"
    (home / "run").mkdir(parents=True)
    try:
        try:
            box = Sandbox.resolve(SandboxSettings(mode=mode, home=str(home), allow_unisolated=True))
        except SandboxError as exc:
            return f"{mode:11s} skipped: {exc}"
        spec = attempt(home)
        box.prepare(spec)
        inner = box.command(spec)
        argv = [SHELL, "-c", WRAPPER, spec.run_dir, spec.cwd, *inner]
        env = box.environment(spec)
        walls: list[float] = []
        before = os.times()
        for _ in range(rounds):
            t0 = time.perf_counter()
            for _ in range(runs):
                pid = os.posix_spawn(argv[0], argv, env, setsid=True)
                _, status = os.waitpid(pid, 0)
                if status != 0:
                    return f"{mode:11s} failed: exit status {status} ({' '.join(argv)[:300]})"
            walls.append((time.perf_counter() - t0) / runs * 1000)
        after = os.times()
        n = runs * rounds
        user = (after.children_user - before.children_user) / n * 1000
        system = (after.children_system - before.children_system) / n * 1000
        mounts = sum(a in MOUNT_ARGS for a in inner)
        return (f"{mode:11s} ({box.isolation}) mounts and directories {mounts:3d}: "
                f"{statistics.median(walls):6.2f} ms an attempt (rounds {', '.join(f'{w:.2f}' for w in walls)}); "
                f"CPU {user:.2f} user + {system:.2f} kernel ms")
    finally:
        shutil.rmtree(home.parent, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--modes", default="none,user,bwrap,bwrap+user")
    ap.add_argument("--runs", type=int, default=300, help="attempts per round")
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    for mode in args.modes.split(","):
        print(measure(mode.strip(), args.runs, args.rounds), flush=True)


if __name__ == "__main__":
    main()
