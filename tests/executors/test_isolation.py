"""Task isolation end to end (docs/security.md): Shell and Python tasks submitted through the
official SDK try to read the server's database file, its key file, /proc/<server pid>/environ,
another task's run directory and its log, and get nothing; ordinary tasks still write in their
run directory and read their parameters; kills and timeouts still take a sandboxed task's whole
process tree. Both ways the issue asks: a root server with a run-as user inside bubblewrap, and
an unprivileged server (an OS user of its own, or the current user when the tests do not run as
root) with bubblewrap. Then ``none`` mode: loud, and refusing non-admins' tasks unless
WEDATA_ALLOW_UNISOLATED=1. SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import site
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException

from tests.actions.instances.test_instances import Space, full_log, instances, new_space, submit, wait_for
from tests.conftest import require_postgres
from tests.support import (
    PG_URL,
    Api,
    ServerProcess,
    bwrap_works,
    create_pg_database,
    drop_pg_database,
    unique,
)

# Mostly waiting (execution timeouts): the waiting lane of `make test` (tools/ci/run-suite.sh).
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("isolation")]

SERVER_USER = "wedata-srv-test"  # the OS user of the unprivileged server (created here when root)
FACTOR = 20  # the isolation servers' clock runs 20x: ExecutionTTLMinute 1 is 3 s
ONEOFF = "2025-01-01 00:00:00"
DATA_ENGINEER = "308335260676890624"


def require_bwrap() -> None:
    if not bwrap_works():
        if os.environ.get("CI"):
            pytest.fail("bubblewrap does not work here (required in CI: tools/ci/install-sandbox.sh)")
        pytest.skip("bubblewrap is not installed or cannot create namespaces here")


def require_root() -> None:
    if os.geteuid() != 0:
        if os.environ.get("CI"):
            pytest.fail("the run-as user test needs root (CI runs as root)")
        pytest.skip("the run-as user test needs root")


def healthz(server: ServerProcess) -> dict[str, Any]:
    with urllib.request.urlopen(f"http://{server.endpoint}/healthz", timeout=5) as r:
        assert r.headers["Content-Type"] == "application/json"
        body: dict[str, Any] = json.loads(r.read())
        return body


def ensure_os_user(name: str) -> pwd.struct_passwd:
    try:
        return pwd.getpwnam(name)
    except KeyError:
        subprocess.run(["useradd", "--system", "--user-group", "--no-create-home", "--home-dir", "/nonexistent",
                        "--shell", "/usr/sbin/nologin", name], check=True, capture_output=True)
        return pwd.getpwnam(name)


class UnprivilegedServer(ServerProcess):
    """A server (and its CLI) running as another OS user, with an interpreter that user can
    run: the tests' own when reachable, else the system Python of the same version with the
    test venv's packages on PYTHONPATH (a pyenv under a private /root is not reachable)."""

    def __init__(self, home: Path, user: pwd.struct_passwd, database_url: str | None, env: dict[str, str]) -> None:
        super().__init__(home, database_url, env)
        self.user = user
        self.python = self._python()

    def _as_user(self, argv: list[str]) -> int:
        try:
            return subprocess.run(argv, capture_output=True, cwd="/", env=self.env(), **self.popen_kwargs()).returncode
        except OSError:  # e.g. PermissionError: the interpreter is under a directory it cannot enter
            return 126

    def _python(self) -> str:
        candidates = [getattr(sys, "_base_executable", sys.executable),
                      f"/usr/bin/python{sys.version_info.major}.{sys.version_info.minor}"]
        for python in candidates:
            if os.path.exists(python) and self._as_user([python, "-c", "import sqlalchemy"]) == 0:
                return python
        pytest.fail(f"no Python interpreter that user {self.user.pw_name} can run")

    def env(self) -> dict[str, str]:
        env = super().env()
        paths = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
        env["PYTHONPATH"] = os.pathsep.join([*paths, str(Path(__file__).resolve().parents[2] / "src"),
                                             *site.getsitepackages()])
        env["HOME"] = str(self.home)
        return env

    def command(self) -> list[str]:
        return [self.python, "-m", "wedata.cli.main"]

    def popen_kwargs(self) -> dict[str, Any]:
        if os.geteuid() != 0 or self.user.pw_uid == os.geteuid():
            return {}
        return {"user": self.user.pw_uid, "group": self.user.pw_gid, "extra_groups": []}


def pg_url(backend: str) -> tuple[str | None, str | None]:
    if backend != "postgres":
        return None, None
    require_postgres()
    name = create_pg_database()
    return f"{PG_URL}/{name}", name


def plant_key(home: Path) -> Path:
    """A dummy key file as the secrets-at-rest work will have (if it is not there yet)."""
    key = home / "secret.key"
    if not key.exists():
        key.write_text("DUMMY-SERVER-KEY-" + uuid.uuid4().hex)
        key.chmod(0o600)
    return key


@contextmanager
def root_server(backend: str, home: Path) -> Iterator[ServerProcess]:
    """A root server, auto mode, after `wedata setup-sandbox` created the run-as user."""
    require_root()
    require_bwrap()
    url, db_name = pg_url(backend)
    srv = ServerProcess(home, url, {**SANDBOXED, "WEDATA_SANDBOX": "auto"}, migrated=False)
    setup = srv.cli("setup-sandbox")
    assert "isolation with WEDATA_SANDBOX=auto: bwrap+user" in setup, setup
    home.mkdir(parents=True, exist_ok=True)
    plant_key(home)
    srv.start()
    try:
        yield srv
    finally:
        srv.stop()
        if db_name:
            drop_pg_database(db_name)


@contextmanager
def unprivileged_server(backend: str) -> Iterator[ServerProcess]:
    """A server running as an unprivileged OS user, home in a directory that user owns."""
    require_bwrap()
    user = ensure_os_user(SERVER_USER) if os.geteuid() == 0 else pwd.getpwuid(os.geteuid())
    url, db_name = pg_url(backend)
    top = Path(tempfile.mkdtemp(prefix="wedata-unpriv-"))
    home = top / "home"
    home.mkdir()
    plant_key(home)
    if os.geteuid() == 0:
        for path in (top, home, home / "secret.key"):
            os.chown(path, user.pw_uid, user.pw_gid)
    srv = UnprivilegedServer(home, user, url, {**SANDBOXED, "WEDATA_SANDBOX": "auto"})
    srv.start()
    try:
        yield srv
    finally:
        srv.stop()
        shutil.rmtree(top, ignore_errors=True)
        if db_name:
            drop_pg_database(db_name)


SANDBOXED = {"WEDATA_SANDBOX_BIND": "", "WEDATA_ALLOW_UNISOLATED": "0", "WEDATA_CLOCK_FACTOR": str(FACTOR),
             "WEDATA_PLAN_INTERVAL": "0.2"}


@pytest.fixture(scope="module", params=["root-sqlite", "root-postgres", "unprivileged-sqlite", "unprivileged-postgres"])
def sandboxed(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    kind, backend = request.param.split("-")
    servers = root_server(backend, tmp_path_factory.mktemp(f"iso-root-{backend}")) if kind == "root" \
        else unprivileged_server(backend)
    with servers as srv:
        srv.kind = kind  # type: ignore[attr-defined]
        yield srv


# -- helpers -------------------------------------------------------------------------------------


def host_processes(token: str) -> list[int]:
    """Host pids whose command line contains ``token`` (the host sees every PID namespace)."""
    found = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                with open(f"/proc/{entry.name}/cmdline", "rb") as f:
                    cmdline = f.read()
                with open(f"/proc/{entry.name}/stat") as f:
                    zombie = f.read().rsplit(")", 1)[1].split()[0] == "Z"
            except OSError:
                continue
            if token.encode() in cmdline and not zombie:
                found.append(int(entry.name))
    return found


def wait_until(what: str, check: Any, timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = check()
        if got:
            return got
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def log_of(api: Api, space: Space, task_id: str) -> str:
    (item,) = instances(api, space, task_id)
    text, _ = full_log(api, space, item["InstanceKey"])
    return text.replace("<br>", "\n")


def running_log(api: Api, space: Space, task_id: str) -> str:
    try:
        data = api.data("GetTaskInstanceLog", {"ProjectId": space.project, "InstanceKey": f"{task_id}_{ONEOFF}"})
    except TencentCloudSDKException as exc:  # not planned yet
        assert exc.code == "ResourceNotFound", exc
        return ""
    return str(data["LogInfo"]).replace("<br>", "\n")


def fill_in(template: str, values: dict[str, str]) -> str:
    for name, value in values.items():
        template = template.replace("{" + name + "}", value)
    return template


def sleepers(token: str) -> str:
    """Shell lines that leave children behind: one in the group, one ignoring SIGTERM, and one
    that left the process group (setsid): all must go with the attempt."""
    return (f"sleep 3600.{token}1 &\n"
            f"(trap '' TERM; exec sleep 3600.{token}2) &\n"
            f"setsid sleep 3600.{token}3 &\n"
            f"echo children-started\n"
            f"wait\n")


SHELL_ATTACK = r"""
probe() {
  name=$1; shift
  if "$@" > "$HOME/probe.out" 2>&1; then echo "PROBE $name: LEAK $(head -c 120 "$HOME/probe.out" | tr -c '[:print:]' '.')"
  else echo "PROBE $name: denied"; fi
}
probe database cat {home}/wedata.db
probe keyfile cat {home}/secret.key
probe environ cat /proc/{pid}/environ
probe maps cat /proc/{pid}/maps
probe logs ls -A {home}/logs
probe home sh -c 'ls -A {home} | grep -vx run'
probe rundirs sh -c 'test "$(ls -A {home}/run | wc -l)" -gt 1 && ls {home}/run'
probe victim-rundir sh -c 'cat {home}/run/*/work/victim-secret.txt'
probe victim-log sh -c 'cat {home}/logs/{victim}/*/*.log'
probe server-env sh -c 'env | grep -E "^WEDATA_(SECRET|DATABASE|HOME|ADMIN|SANDBOX|RUN_AS)"'
probe token sh -c 'grep -rs {token} /tmp /dev/shm /etc /proc/[0-9]*/environ'
echo "whoami $(id -u) pids $(ls /proc | grep -c '^[0-9]')"
echo attack-done
"""

PYTHON_ATTACK = r"""
import glob, os, subprocess
def probe(name, fn):
    try:
        out = fn()
        if not out:
            raise FileNotFoundError("nothing")
        print(f"PROBE {name}: LEAK {str(out)[:120]!r}")
    except Exception as exc:
        print(f"PROBE {name}: denied ({type(exc).__name__})")
def read(path):
    with open(path, "rb") as f:
        return f.read()
def read_all(pattern):
    return [read(p) for p in glob.glob(pattern)]
probe("database", lambda: read("{home}/wedata.db"))
probe("keyfile", lambda: read("{home}/secret.key"))
probe("environ", lambda: read("/proc/{pid}/environ"))
probe("mem", lambda: read("/proc/{pid}/cmdline"))
probe("logs", lambda: os.listdir("{home}/logs"))
probe("home", lambda: [e for e in os.listdir("{home}") if e != "run"])
probe("rundirs", lambda: len(os.listdir("{home}/run")) > 1 and os.listdir("{home}/run"))
probe("victim-rundir", lambda: read_all("{home}/run/*/work/victim-secret.txt"))
probe("victim-log", lambda: read_all("{home}/logs/{victim}/*/*.log"))
probe("server-env", lambda: [k for k in os.environ if k.startswith(("WEDATA_SECRET", "WEDATA_DATABASE", "WEDATA_HOME",
                                                                      "WEDATA_ADMIN", "WEDATA_SANDBOX"))])
probe("signal", lambda: os.kill({pid}, 0) or "signalled")
print("attack-done")
"""


# -- the sandboxed servers -----------------------------------------------------------------------------


def test_healthz_reports_the_isolation(sandboxed: ServerProcess) -> None:
    if sandboxed.kind == "root":  # type: ignore[attr-defined]
        assert healthz(sandboxed) == {"status": "ok", "isolation": "bwrap+user", "run_as_user": "wedata-run",
                                         "database": "ok", "dispatch": "running"}
        assert "task isolation: bwrap+user as user wedata-run" in sandboxed.log_path.read_text()
    else:
        assert healthz(sandboxed) == {"status": "ok", "isolation": "bwrap", "database": "ok",
                                         "dispatch": "running"}
        assert "task isolation: bwrap" in sandboxed.log_path.read_text()


def test_tasks_cannot_read_the_server_or_other_tasks(sandboxed: ServerProcess) -> None:
    api = sandboxed.new_user()  # an ordinary (non-admin) user: exactly whom the sandbox is for
    space = new_space(api)
    home = sandboxed.home
    assert sandboxed.proc is not None
    token = str(uuid.uuid4().int)[:15]  # digits: it is part of sleep durations
    # A victim task that keeps its run directory (with a secret in it) alive while the attackers run.
    victim = submit(api, space, f"echo {token}-in-log\necho {token} > \"$HOME/victim-secret.txt\"\n{sleepers(token)}",
                    name=unique("victim"))
    wait_until("the victim's secret in its log", lambda: f"{token}-in-log" in running_log(api, space, victim))
    wait_until("the victim's children", lambda: len(host_processes(f"3600.{token}")) == 3)
    fill = {"home": str(home), "pid": str(sandboxed.proc.pid), "victim": victim, "token": token}
    shell = submit(api, space, fill_in(SHELL_ATTACK, fill), name=unique("shell_attack"))
    python = submit(api, space, fill_in(PYTHON_ATTACK, fill), type_id="30", name=unique("py_attack"))
    for task in (shell, python):
        wait_for(api, space, task, {"COMPLETED"}, timeout=60)
    for task, probes in ((shell, 11), (python, 11)):
        text = log_of(api, space, task)
        assert "attack-done" in text, text
        lines = [line for line in text.splitlines() if line.startswith("PROBE ")]
        assert len(lines) == probes, text
        assert all(": denied" in line for line in lines), "\n".join(lines)
        assert token not in text  # not even a grep through /tmp, /dev/shm, /etc and /proc found it
    # The kill reaches the victim's whole tree: in the group, ignoring SIGTERM, and escaped with setsid.
    job = api.data("KillTaskInstancesAsync", {"ProjectId": space.project, "InstanceKeyList": [f"{victim}_{ONEOFF}"]})
    assert job["AsyncId"]
    wait_for(api, space, victim, {"EXPIRED"}, timeout=30)
    wait_until("the victim's children to be gone", lambda: not host_processes(f"3600.{token}"), timeout=30)


def test_ordinary_tasks_still_run(sandboxed: ServerProcess) -> None:
    api = sandboxed.new_user()
    space = new_space(api)
    params = {"TaskSchedulingParameterList": [{"ParamKey": "greeting", "ParamValue": "hello-${yyyyMMdd}"}]}
    shell = submit(api, space, 'echo "p=${greeting}"\necho data > out.txt\ncat "$HOME/out.txt"\n'
                               'echo "pwd=$(pwd) home=$HOME task=$WEDATA_TASK_ID"\nmkdir -p sub && touch sub/f /tmp/t\n'
                               "echo '${setValue(rows=42)}'\n", conf=params, name=unique("shell_ok"))
    python = submit(api, space, 'import os, sys\nopen("out.txt", "w").write("pydata")\n'
                                'print("p=${greeting}", open(os.path.join(os.environ["HOME"], "out.txt")).read())\n'
                                'print("task=" + os.environ["WEDATA_TASK_ID"], "cwd=" + os.getcwd())\n',
                    type_id="30", conf=params, name=unique("py_ok"))
    for task in (shell, python):
        wait_for(api, space, task, {"COMPLETED"}, timeout=60)
    text = log_of(api, space, shell)
    assert "p=hello-20250101" in text and "\ndata\n" in f"\n{text}\n" and f"task={shell}" in text
    pwd_line = next(line for line in text.splitlines() if line.startswith("pwd="))
    run_dir = pwd_line.split()[0][len("pwd="):]
    assert pwd_line.split()[1] == f"home={run_dir}" and run_dir.startswith(str(sandboxed.home / "run"))
    text = log_of(api, space, python)
    assert "p=hello-20250101 pydata" in text and f"task={python}" in text, text


def test_execution_timeout_kills_the_sandboxed_tree(sandboxed: ServerProcess) -> None:
    api = sandboxed.new_user()
    space = new_space(api)
    token = str(uuid.uuid4().int)[:15]  # digits: it is part of sleep durations
    task = submit(api, space, sleepers(token), sched={"ExecutionTTLMinute": 2, "MaxRetryNumber": 0})
    wait_until("the children", lambda: len(host_processes(f"3600.{token}")) == 3)
    (item,) = wait_for(api, space, task, {"EXPIRED"}, timeout=60)
    detail = api.data("GetTaskInstance", {"ProjectId": space.project, "InstanceKey": item["InstanceKey"]})
    assert "ExecutionTTL" in detail["JobErrorMsg"]
    wait_until("the children to be gone", lambda: not host_processes(f"3600.{token}"), timeout=30)


# -- no isolation -------------------------------------------------------------------------------------------


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def none_server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    url, db_name = pg_url(request.param)
    srv = ServerProcess(tmp_path_factory.mktemp(f"iso-none-{request.param}"), url,
                        {"WEDATA_SANDBOX": "none", "WEDATA_ALLOW_UNISOLATED": "0"}, migrated=False).start()
    yield srv
    srv.stop()
    if db_name:
        drop_pg_database(db_name)


def test_none_mode_is_loud_and_refuses_non_admins(none_server: ServerProcess) -> None:
    assert healthz(none_server) == {"status": "ok", "isolation": "none",
                                    "unisolated_tasks": "refused-for-non-admins", "database": "ok",
                                    "dispatch": "running"}
    warning = [line for line in none_server.log_path.read_text().splitlines() if "TASK ISOLATION IS OFF" in line]
    assert warning and " WARNING " in warning[0] and "WEDATA_ALLOW_UNISOLATED" in warning[0]
    user = none_server.new_user()
    space = new_space(user)
    theirs = submit(user, space, "echo should-not-run", sched={"MaxRetryNumber": 0})
    admin = none_server.admin()
    admin_space = new_space(admin)
    mine = submit(admin, admin_space, "echo admin-ran")
    (item,) = wait_for(user, space, theirs, {"EXPIRED"})
    assert item["Tries"] == 1
    detail = user.data("GetTaskInstance", {"ProjectId": space.project, "InstanceKey": item["InstanceKey"]})
    assert "refused" in detail["JobErrorMsg"] and "WEDATA_ALLOW_UNISOLATED" in detail["JobErrorMsg"]
    text = log_of(user, space, theirs)
    assert "refused" in text and "should-not-run" not in text.replace("echo should-not-run", "")
    wait_for(admin, admin_space, mine, {"COMPLETED"})
    assert "admin-ran" in log_of(admin, admin_space, mine)
    # An admin's task that a non-admin edits is no longer an admin's task.
    shared = submit(admin, admin_space, "echo shared")
    wait_for(admin, admin_space, shared, {"COMPLETED"})
    admin.call("CreateProjectMember", {"ProjectId": admin_space.project, "UserUins": [user.uin],  # type: ignore[attr-defined]
                                       "RoleIds": [DATA_ENGINEER]})
    edited = submit(user, admin_space, "echo edited", sched={"MaxRetryNumber": 0})
    (item,) = wait_for(user, admin_space, edited, {"EXPIRED"})
    assert "refused" in user.data("GetTaskInstance", {"ProjectId": admin_space.project,
                                                      "InstanceKey": item["InstanceKey"]})["JobErrorMsg"]


def test_none_mode_runs_everyone_when_the_risk_is_accepted(tmp_path: Path) -> None:
    srv = ServerProcess(tmp_path / "home", None, {"WEDATA_SANDBOX": "none", "WEDATA_ALLOW_UNISOLATED": "1"},
                        migrated=False).start()
    try:
        assert healthz(srv) == {"status": "ok", "isolation": "none", "unisolated_tasks": "allowed",
                               "database": "ok", "dispatch": "running"}
        assert "TASK ISOLATION IS OFF" in srv.log_path.read_text()
        user = srv.new_user()
        space = new_space(user)
        task = submit(user, space, 'echo "ran secret=${WEDATA_SECRET_KEY:-unset} db=${WEDATA_DATABASE_URL:-unset}"')
        wait_for(user, space, task, {"COMPLETED"})
        # Even unisolated, the task's environment is built from scratch: none of the server's.
        assert "ran secret=unset db=unset" in log_of(user, space, task)
    finally:
        srv.stop()
