"""Private brokers for one test: a ``redis-server`` or a RabbitMQ node of its own, in a temporary
directory on free ports, stopped and started again at will (like tests/pgtemp.py for
PostgreSQL).

For tests that take the broker away: the shared Redis on 6379 and RabbitMQ on 5672 serve other
tests in parallel and must never be restarted.

Redis runs without persistence (``--save "" --appendonly no``, as CI's shared one): a restart
loses every message it held, the hardest case for the engine (it must send them again).

RabbitMQ: a node ``wedata-test-<random>@localhost`` with its own ``RABBITMQ_MNESIA_BASE`` and
``RABBITMQ_LOG_BASE`` in the temporary directory, its own AMQP and distribution ports, no plugin
(the management plugin would need more ports); as root it runs as the ``rabbitmq`` OS user (the
server refuses root; HOME is that user's, where the Erlang cookie ``rabbitmqctl stop`` needs
is), otherwise as the current user with its own HOME. A stop is clean
(``rabbitmqctl stop``); durable queues and persistent messages survive the restart.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.support import free_port


def _rabbit_binary(name: str) -> str | None:
    """The RabbitMQ script itself: Debian's ``/usr/sbin`` wrapper would send a server's output
    to the shared ``/var/log/rabbitmq/startup_log`` and refuse users other than root and rabbitmq."""
    direct = Path("/usr/lib/rabbitmq/bin") / name
    return str(direct) if direct.exists() else shutil.which(name)


def _listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def _wait_port(port: int, up: bool, timeout: float, what: str, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _listening(port) == up:
            return
        time.sleep(0.1)
    tail = log.read_text(errors="replace")[-3000:] if log.exists() else ""
    raise RuntimeError(f"{what} did not {'open' if up else 'close'} port {port} within {timeout:.0f} s\n{tail}")


class PrivateRedis:
    def __init__(self) -> None:
        self.base = Path(tempfile.mkdtemp(prefix="wedata-redis-"))
        self.port = free_port()
        self.log = self.base / "redis.log"
        self.proc: subprocess.Popen[bytes] | None = None

    @staticmethod
    def available() -> str | None:
        return None if shutil.which("redis-server") else "redis-server was not found on PATH"

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def start(self) -> PrivateRedis:
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.base), "--logfile", str(self.log)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        _wait_port(self.port, True, 30, "redis-server", self.log)
        return self

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(30)
        _wait_port(self.port, False, 10, "redis-server", self.log)

    def destroy(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        shutil.rmtree(self.base, ignore_errors=True)


class PrivateRabbit:
    def __init__(self) -> None:
        self.base = Path(tempfile.mkdtemp(prefix="wedata-rabbit-"))
        self.port = free_port()
        self.dist_port = free_port()
        self.node = f"wedata-test-{uuid.uuid4().hex[:10]}@localhost"
        self.log = self.base / "out.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.os_user = "rabbitmq" if os.geteuid() == 0 else None
        (self.base / "enabled_plugins").write_text("[].\n")  # no plugin: no management listener
        if self.os_user is not None:
            for path in (self.base, self.base / "enabled_plugins"):
                shutil.chown(path, self.os_user)

    @staticmethod
    def available() -> str | None:
        """None when a private node can be started here, else why not."""
        for name in ("rabbitmq-server", "rabbitmqctl"):
            if _rabbit_binary(name) is None:
                return f"{name} was not found (/usr/lib/rabbitmq/bin, PATH)"
        if os.geteuid() == 0:
            try:
                pwd.getpwnam("rabbitmq")
            except KeyError:
                return "running as root needs the rabbitmq OS user (the Debian package creates it)"
            if shutil.which("runuser") is None:
                return "runuser is needed to run RabbitMQ as the rabbitmq user"
        return None

    @property
    def url(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}//"

    def _env(self) -> dict[str, str]:
        home = pwd.getpwnam(self.os_user).pw_dir if self.os_user else os.environ.get("HOME", str(self.base))
        return {
            "PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"),
            "HOME": home,
            "RABBITMQ_NODENAME": self.node,
            "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "RABBITMQ_MNESIA_BASE": str(self.base / "mnesia"),
            "RABBITMQ_LOG_BASE": str(self.base / "log"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(self.base / "enabled_plugins"),
            "RABBITMQ_PID_FILE": str(self.base / "node.pid"),
            "RABBITMQ_CONFIG_FILE": str(self.base / "none"),  # no config file: the defaults
        }

    def _argv(self, *argv: str) -> list[str]:
        return list(argv) if self.os_user is None else ["runuser", "-u", self.os_user, "--", *argv]

    def start(self) -> PrivateRabbit:
        log = open(self.log, "ab")  # noqa: SIM115 (the node keeps writing to it)
        self.proc = subprocess.Popen(self._argv("env", *(f"{k}={v}" for k, v in self._env().items()),
                                                _rabbit_binary("rabbitmq-server") or "rabbitmq-server"),
                                     stdout=log, stderr=subprocess.STDOUT, env={"PATH": self._env()["PATH"]}, cwd=self.base,
                                     start_new_session=True)
        log.close()
        _wait_port(self.port, True, 180, f"RabbitMQ node {self.node}", self.log)
        return self

    def stop(self) -> None:
        # rabbitmqctl boots an Erlang VM of its own: over a minute on a 2-CPU machine at load 40.
        out = subprocess.run(self._argv("env", *(f"{k}={v}" for k, v in self._env().items()),
                                        _rabbit_binary("rabbitmqctl") or "rabbitmqctl", "-n", self.node, "stop"),
                             capture_output=True, text=True, timeout=180, env={"PATH": self._env()["PATH"]})
        if out.returncode != 0:
            raise RuntimeError(f"rabbitmqctl stop failed: {out.stderr or out.stdout}")
        if self.proc is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(30)
        _wait_port(self.port, False, 30, f"RabbitMQ node {self.node}", self.log)

    def _ctl(self, *args: str) -> str:
        out = subprocess.run(self._argv("env", *(f"{k}={v}" for k, v in self._env().items()),
                                        _rabbit_binary("rabbitmqctl") or "rabbitmqctl", "-n", self.node, "-q", *args),
                             capture_output=True, text=True, timeout=60, env={"PATH": self._env()["PATH"]})
        return out.stdout + out.stderr

    def queues(self) -> str:
        """Each queue's ready and unacknowledged messages and consumers, and each channel's
        prefetch and unacknowledged messages (for a failure's message)."""
        return (self._ctl("list_queues", "name", "messages_ready", "messages_unacknowledged", "consumers")
                + self._ctl("list_channels", "connection", "number", "consumer_count", "messages_unacknowledged",
                            "prefetch_count", "global_prefetch_count"))

    def destroy(self) -> None:
        if _listening(self.port):
            with contextlib.suppress(RuntimeError, subprocess.TimeoutExpired):
                self.stop()
        if self.proc is not None and self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)
        shutil.rmtree(self.base, ignore_errors=True)


def need(why: str | None) -> None:
    """A private server this machine cannot start: a failure in CI, a skip elsewhere."""
    if why is None:
        return
    if os.environ.get("CI"):
        pytest.fail(why)
    pytest.skip(why)


def states(api: Any, project: str) -> dict[str, int]:
    """How many instances of the project are in each state (every page)."""
    counts: dict[str, int] = {}
    page = 1
    while True:
        data = api.data("ListTaskInstances", {"ProjectId": project, "PageNumber": page, "PageSize": 100})
        for item in data["Items"]:
            counts[item["InstanceState"]] = counts.get(item["InstanceState"], 0) + 1
        if page * 100 >= data["TotalCount"]:
            return counts
        page += 1
