"""Running the `wedata` CLI as a user does: a subprocess with its own config dir (never the real
~/.config), through pipes or through a pseudo-terminal where a real terminal matters."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import select
import struct
import subprocess
import termios
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.support import ADMIN_ID, ADMIN_KEY, ROOT, ServerProcess, clean_env, unique, wedata_cli

# Variables of the caller's shell that would change what the CLI talks to.
_PROFILE_VARS = ("WEDATA_ENDPOINT", "WEDATA_SECRET_ID", "WEDATA_SECRET_KEY", "WEDATA_TOKEN", "WEDATA_PROJECT",
                 "WEDATA_TZ", "WEDATA_DEBUG", "TENCENTCLOUD_SECRET_ID", "TENCENTCLOUD_SECRET_KEY", "WEDATA_HOME",
                 "WEDATA_DATABASE_URL", "EDITOR", "VISUAL")


def base_env(config_home: Path) -> dict[str, str]:
    env = {k: v for k, v in clean_env().items() if k not in _PROFILE_VARS}
    env.update(XDG_CONFIG_HOME=str(config_home), PYTHONUNBUFFERED="1", TERM="xterm-256color")
    return env


@dataclass
class PtyRun:
    """What a command wrote to its terminal, chunk by chunk with the time each arrived."""

    chunks: list[tuple[float, str]]
    returncode: int

    @property
    def text(self) -> str:
        return "".join(c for _, c in self.chunks)

    def first_time(self, needle: str) -> float:
        seen = ""
        for at, chunk in self.chunks:
            seen += chunk
            if needle in seen:
                return at
        raise AssertionError(f"{needle!r} never appeared in:\n{self.text}")


@dataclass
class Cli:
    config_home: Path
    cwd: Path = ROOT
    extra: dict[str, str] = field(default_factory=dict)

    def env(self, **overrides: str) -> dict[str, str]:
        env = base_env(self.config_home)
        env.update(self.extra)
        env.update(overrides)
        return env

    def run(self, *args: str, input: str | None = None, timeout: float = 120,
            env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*wedata_cli(), *args], env=self.env(**(env or {})), capture_output=True, text=True,
                              cwd=self.cwd, timeout=timeout, input=input)

    def ok(self, *args: str, **kw: Any) -> str:
        res = self.run(*args, **kw)
        assert res.returncode == 0, f"wedata {' '.join(args)} exited {res.returncode}:\n{res.stdout}\n{res.stderr}"
        assert "Traceback" not in res.stderr, res.stderr
        return res.stdout

    def json(self, *args: str, **kw: Any) -> Any:
        return json.loads(self.ok(*args, "-o", "json", **kw))

    def fails(self, *args: str, code: int = 1, **kw: Any) -> str:
        """Run a command that must fail: exit ``code``, one line on stderr, no traceback."""
        res = self.run(*args, **kw)
        assert res.returncode == code, f"wedata {' '.join(args)} exited {res.returncode}:\n{res.stdout}\n{res.stderr}"
        assert "Traceback" not in res.stderr + res.stdout, res.stderr
        errors = [line for line in res.stderr.splitlines() if line.startswith("Error:")]
        assert len(errors) == 1, res.stderr
        return errors[0]

    def pty(self, *args: str, timeout: float = 120, cols: int = 120, env: dict[str, str] | None = None,
            send: list[tuple[str, str]] | None = None) -> PtyRun:
        """Run under a pseudo-terminal (stdin, stdout and stderr are the terminal). ``send``:
        (text to wait for, line to type) pairs, in order."""
        master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, cols, 0, 0))
        proc = subprocess.Popen([*wedata_cli(), *args], env=self.env(**(env or {})), cwd=self.cwd,
                                stdin=slave, stdout=slave, stderr=slave, start_new_session=True)
        os.close(slave)
        chunks: list[tuple[float, str]] = []
        pending = list(send or [])
        seen = ""
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                ready, _, _ = select.select([master], [], [], 0.1)
                if ready:
                    try:
                        data = os.read(master, 65536)
                    except OSError:  # EIO: the terminal's other side closed
                        break
                    if not data:
                        break
                    text = data.decode("utf-8", "replace")
                    chunks.append((time.monotonic(), text))
                    seen += text
                    while pending and pending[0][0] in seen:
                        seen = seen.split(pending[0][0], 1)[1]
                        os.write(master, (pending.pop(0)[1] + "\n").encode())
                elif proc.poll() is not None:
                    break
            else:
                raise AssertionError(f"wedata {' '.join(args)} still running after {timeout} s:\n"
                                     + "".join(c for _, c in chunks))
        finally:
            os.close(master)
            if proc.poll() is None:
                proc.kill()
            proc.wait(10)
        return PtyRun(chunks, proc.returncode)


def logged_in(server: ServerProcess, config_home: Path, cwd: Path | None = None) -> Cli:
    """A CLI logged in as the admin, with a fresh current project."""
    cli = Cli(config_home, cwd or ROOT)
    cli.ok("login", "--endpoint", f"http://{server.endpoint}", "--secret-id", ADMIN_ID, "--secret-key", ADMIN_KEY)
    cli.ok("projects", "create", unique("cli"))
    return cli


def write_task(path: Path, name: str, workflow: str, *, sched: dict[str, Any] | None = None,
               code: str | None = None) -> Path:
    """A CreateTask body (one-off, so it runs once at submit, unless ``sched`` says otherwise)."""
    import base64

    body = {
        "TaskBaseAttribute": {"TaskName": name, "TaskTypeId": "35", "WorkflowId": workflow},
        "TaskConfiguration": {"CodeContent": base64.b64encode((code or "echo hi").encode()).decode()},
        "TaskSchedulerConfiguration": sched or {"CycleType": "ONEOFF_CYCLE", "StartTime": "2025-01-01 00:00:00"},
    }
    path.write_text(json.dumps(body))
    return path
