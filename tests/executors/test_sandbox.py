"""The sandbox under the local executor, without a server: the environment is built from
scratch, explicit modes that cannot work here stop the start, none mode refuses untrusted
attempts, binds never expose WEDATA_HOME, and kills (with their SIGTERM grace) and re-attaching
after a restart work through bubblewrap. The end-to-end behaviour through the SDK is in
test_isolation.py."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.executors.test_isolation import host_processes, require_bwrap, wait_until
from wedata.config import Settings
from wedata.executors import sandbox as sandbox_module
from wedata.executors.base import ExecutorError, RunSpec
from wedata.executors.local import LocalExecutor
from wedata.executors.sandbox import RunAs, Sandbox, SandboxError, SandboxSettings
from wedata.executors.tasktypes import build_command

pytestmark = pytest.mark.xdist_group("isolation")


class Exits:
    def __init__(self) -> None:
        self.codes: dict[int, int | None] = {}
        self.cv = threading.Condition()

    def __call__(self, execution_id: int, code: int | None) -> None:
        with self.cv:
            self.codes[execution_id] = code
            self.cv.notify_all()

    def wait(self, execution_id: int, timeout: float = 30.0) -> int | None:
        with self.cv:
            assert self.cv.wait_for(lambda: execution_id in self.codes, timeout), f"no exit for {execution_id}"
            return self.codes[execution_id]


def spec(home: Path, eid: int, script: str, *, type_id: int = 35, trusted: bool | None = None) -> RunSpec:
    run_dir = home / "run" / f"{eid}.0.1"
    argv = build_command(type_id, script, {}, str(run_dir))
    work = run_dir / "work"
    work.mkdir(parents=True, exist_ok=True)
    return RunSpec(eid, argv, str(work), str(home / f"{eid}.log"), str(run_dir), {"WEDATA_TASK_ID": f"t{eid}"},
                   trusted=trusted)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    (home / "run").mkdir(parents=True)
    (home / "wedata.db").write_text("SERVER-DATABASE")
    return home


def started(settings: SandboxSettings | None) -> tuple[LocalExecutor, Exits]:
    ex, exits = LocalExecutor(settings), Exits()
    ex.start(exits)
    return ex, exits


@pytest.fixture
def executors() -> Iterator[list[LocalExecutor]]:
    made: list[LocalExecutor] = []
    yield made
    for ex in made:
        ex.close()


def test_the_environment_is_built_from_scratch(home: Path, monkeypatch: pytest.MonkeyPatch,
                                               executors: list[LocalExecutor]) -> None:
    monkeypatch.setenv("WEDATA_SECRET_KEY", "server-secret")
    monkeypatch.setenv("WEDATA_DATABASE_URL", "postgresql://u:server-password@h/db")
    monkeypatch.setenv("SOME_SERVER_VARIABLE", "server-only")
    for eid, settings in enumerate((None, SandboxSettings(mode="none", allow_unisolated=True, home=str(home))), 1):
        ex, exits = started(settings)
        executors.append(ex)
        s = spec(home, eid, "env; pwd")
        ex.submit(s)
        assert exits.wait(eid) == 0
        out = Path(s.log_path).read_text()
        assert "server-secret" not in out and "server-password" not in out and "SOME_SERVER_VARIABLE" not in out
        env = dict(line.split("=", 1) for line in out.splitlines() if "=" in line)
        assert env["HOME"] == s.cwd and env["WEDATA_TASK_ID"] == f"t{eid}" and "/usr/bin" in env["PATH"]
        assert {k for k in env if k.startswith("WEDATA_")} == {"WEDATA_TASK_ID"}
        assert out.splitlines()[-1] == s.cwd


def test_settings_and_explicit_modes_that_cannot_work(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(SystemExit, match="WEDATA_SANDBOX must be one of"):
        Settings.from_env({"WEDATA_SANDBOX": "chroot"})
    s = Settings.from_env({"WEDATA_SANDBOX": "bwrap+user", "WEDATA_RUN_AS_USER": "runner", "WEDATA_ALLOW_UNISOLATED": "1",
                           "WEDATA_SANDBOX_BIND": "/data/a:/data/b", "WEDATA_SANDBOX_RO_BIND": "/opt/tools"})
    assert (s.sandbox, s.run_as_user, s.allow_unisolated, s.sandbox_bind, s.sandbox_ro_bind) == (
        "bwrap+user", "runner", True, ("/data/a", "/data/b"), ("/opt/tools",))
    assert Settings.from_env({}).sandbox == "auto" and not Settings.from_env({}).allow_unisolated
    with pytest.raises(SandboxError, match="does not exist"):
        Sandbox.resolve(SandboxSettings(mode="user", run_as_user="no-such-user-here"))
    monkeypatch.setattr(sandbox_module, "BWRAP", "/nonexistent/bwrap")
    with pytest.raises(SandboxError, match="bubblewrap"):
        Sandbox.resolve(SandboxSettings(mode="bwrap"))
    # auto falls back (loudly) instead
    box = Sandbox.resolve(SandboxSettings(mode="auto", run_as_user="no-such-user-here"))
    assert box.isolation == "none" and box.refuse_untrusted
    assert any("bubblewrap" in n for n in box.notes)


def test_none_mode_refuses_untrusted_attempts(home: Path, executors: list[LocalExecutor]) -> None:
    ex, exits = started(SandboxSettings(mode="none", home=str(home)))
    executors.append(ex)
    assert ex.admin_only and ex.isolation == {"isolation": "none", "unisolated_tasks": "refused-for-non-admins"}
    for trusted in (None, False):
        with pytest.raises(ExecutorError, match="WEDATA_ALLOW_UNISOLATED=1"):
            ex.submit(spec(home, 1, "echo no", trusted=trusted))
    ex.submit(spec(home, 2, "echo admin", trusted=True))
    assert exits.wait(2) == 0


def test_binds_never_expose_the_home(home: Path, tmp_path: Path, executors: list[LocalExecutor]) -> None:
    require_bwrap()
    # The operator shares the home's parent (and a path inside the home) with tasks: still hidden.
    ex, exits = started(SandboxSettings(mode="bwrap", home=str(home), bind=(str(tmp_path), str(home / "logs"))))
    executors.append(ex)
    s = spec(home, 1, f"ls -A {home}; ls {home}/run; cat {home}/wedata.db; echo shared > {tmp_path}/shared.txt; "
                      f"echo mine > mine.txt; echo code >> {home}/run/1.0.1/task.sh; ls $HOME")
    ex.submit(s)
    assert exits.wait(1) == 0  # the last command, ls, succeeded
    out = Path(s.log_path).read_text()
    assert out.splitlines()[:2] == ["run", "1.0.1"], out
    assert "SERVER-DATABASE" not in out and "No such file" in out and "Read-only file system" in out
    assert (tmp_path / "shared.txt").read_text() == "shared\n"
    assert out.splitlines()[-1] == "mine.txt"


def test_each_attempt_sees_its_own_run_directory_and_not_the_one_before(home: Path,
                                                                        executors: list[LocalExecutor]) -> None:
    # The mounts every attempt shares are built once and reused (Sandbox._shared_mounts): the
    # next attempt must get its own run directory, and nothing of the previous one.
    require_bwrap()
    ex, exits = started(SandboxSettings(mode="bwrap", home=str(home)))
    executors.append(ex)
    first = spec(home, 1, "echo one > mine.txt; ls ..", trusted=True)
    ex.submit(first)
    assert exits.wait(1) == 0
    second = spec(home, 2, f"ls {home}/run; cat {home}/run/1.0.1/work/mine.txt; pwd; ls ..", trusted=True)
    ex.submit(second)
    assert exits.wait(2) == 0  # the last command, ls, succeeded
    out = Path(second.log_path).read_text()
    assert out.splitlines()[0] == "2.0.1", out  # the home's run/ holds this attempt's directory only
    assert "one" not in out and "No such file" in out
    assert f"{home}/run/2.0.1/work" in out.splitlines()


def test_the_code_file_and_control_files_are_out_of_the_tasks_reach(home: Path, executors: list[LocalExecutor]) -> None:
    require_bwrap()
    ex, exits = started(SandboxSettings(mode="auto", home=str(home)))
    executors.append(ex)
    # A task that plants a symlink where the wrapper writes the exit code must fail to.
    s = spec(home, 1, "ln -s /etc/passwd ../exit; echo planted=$?; exit 3", trusted=True)
    ex.submit(s)
    assert exits.wait(1) == 3
    assert "planted=1" in Path(s.log_path).read_text()
    assert Path(s.run_dir, "exit").read_text().strip() == "3" and not Path(s.run_dir, "exit").is_symlink()


def kill_modes() -> list[str]:
    return ["bwrap", "bwrap+user"] if os.geteuid() == 0 else ["bwrap"]


@pytest.mark.parametrize("mode", kill_modes())
def test_kill_gives_the_grace_period_then_takes_the_whole_tree(mode: str, home: Path,
                                                              executors: list[LocalExecutor]) -> None:
    require_bwrap()
    if mode == "bwrap+user":
        sandbox_module.create_user("wedata-run")
    ex, exits = started(SandboxSettings(mode=mode, home=str(home)))
    executors.append(ex)
    token = str(os.getpid()) + str(threading.get_ident())[-6:]
    s = spec(home, 1, f"trap 'echo cleaning-up; sleep 0.2; echo cleaned; exit 9' TERM\n"
                      f"(trap '' TERM; exec sleep 3600.{token}1) &\nsetsid sleep 3600.{token}2 &\n"
                      f"echo started\nwhile :; do sleep 0.05; done\n")
    handle = ex.submit(s)
    wait_until("both children", lambda: len(host_processes(f"3600.{token}")) == 2)
    wait_until("the task's start", lambda: "started" in Path(s.log_path).read_text())
    ex.kill(handle, grace_seconds=1.5)
    assert exits.wait(1) in (143, 137)
    wait_until("the whole tree to go", lambda: not host_processes(f"3600.{token}"), timeout=15)
    assert "cleaned" in Path(s.log_path).read_text()  # SIGTERM came first: the task could clean up


def test_a_restarted_executor_reattaches_a_sandboxed_attempt(home: Path, executors: list[LocalExecutor]) -> None:
    require_bwrap()
    first, _ = started(SandboxSettings(mode="bwrap", home=str(home)))
    go = home / "run" / "1.0.1" / "work" / "go"
    s = spec(home, 1, "for _ in $(seq 600); do [ -e go ] && break; sleep 0.02; done\nexit 5")
    handle = first.submit(s)
    first.close()  # the "crashed" scheduler
    second, exits = started(SandboxSettings(mode="bwrap", home=str(home)))
    executors.append(second)
    assert second.attach(1, {k: v for k, v in handle.items() if k != "pid"})  # found by its run dir
    assert second.poll(handle).running
    go.touch()
    assert exits.wait(1) == 5


def test_run_as_user_lookup() -> None:
    assert RunAs.lookup("no-such-user-here") is None
    root = RunAs.lookup("root")
    assert root is not None and root.uid == 0


def test_user_mode_alone_runs_as_the_run_as_user(home: Path, executors: list[LocalExecutor]) -> None:
    if os.geteuid() != 0:
        pytest.skip("user mode needs a root server")
    sandbox_module.create_user("wedata-run")
    home.chmod(0o755)
    (home / "wedata.db").chmod(0o644)  # even world-readable: the home itself becomes 0700
    ex, exits = started(SandboxSettings(mode="user", home=str(home)))
    executors.append(ex)
    assert ex.isolation == {"isolation": "user", "run_as_user": "wedata-run"}
    assert home.stat().st_mode & 0o777 == 0o700
    s = spec(home, 1, f"id -un; echo mine > mine.txt && cat mine.txt; cat {home}/wedata.db; "
                      f"cat /proc/{os.getpid()}/environ; echo code >> ../task.sh; echo done")
    ex.submit(s)
    assert exits.wait(1) == 0
    out = Path(s.log_path).read_text()
    assert out.splitlines()[:2] == ["wedata-run", "mine"], out
    assert "SERVER-DATABASE" not in out and out.count("Permission denied") == 3 and out.endswith("done\n"), out


@pytest.mark.parametrize("mode", kill_modes())
def test_a_notebook_runs_inside_the_sandbox(mode: str, home: Path, executors: list[LocalExecutor]) -> None:
    """Notebook tasks (132): the server's virtualenv (nbclient, ipykernel) is visible read-only,
    the kernel starts inside the sandbox and the executed notebook lands in work/."""
    require_bwrap()
    if mode == "bwrap+user":
        sandbox_module.create_user("wedata-run")
    ex, exits = started(SandboxSettings(mode=mode, home=str(home)))
    executors.append(ex)
    source = f"import os\nprint(6 * 7, os.path.exists({str(home / 'wedata.db')!r}))"
    notebook = json.dumps({"cells": [{"cell_type": "code", "execution_count": None, "id": "a", "metadata": {},
                                      "outputs": [], "source": source}],
                           "metadata": {}, "nbformat": 4, "nbformat_minor": 5})
    s = spec(home, 1, notebook, type_id=132, trusted=True)
    ex.submit(s)
    out = Path(s.log_path)
    assert exits.wait(1, timeout=90) == 0, out.read_text()
    assert "42 False" in out.read_text()  # ran, and the server's database stays out of reach
    assert '"42 False\\n"' in Path(s.cwd, "executed.ipynb").read_text()


def test_attempts_see_the_copied_etc_in_one_mount(home: Path, executors: list[LocalExecutor]) -> None:
    """The allow-listed /etc files reach the attempt through one bind of their copy in the home
    (executors/staged_etc.py), the directories of the list through their own binds; nothing else
    of /etc is there, and none of it is writable."""
    require_bwrap()
    ex, exits = started(SandboxSettings(mode="auto", home=str(home)))
    executors.append(ex)
    s = spec(home, 1, "id -un; head -1 /etc/passwd; ls /etc/ssl/certs | grep -c .; cat /etc/ld.so.conf.d/*.conf | "
                      "grep -c .; cat /etc/shadow; ls /etc/sandbox; echo x > /etc/passwd; touch /etc/new; "
                      "getent hosts localhost | grep -c .; echo done", trusted=True)
    ex.submit(s)
    assert exits.wait(1) == 0
    out = Path(s.log_path).read_text().splitlines()
    if os.geteuid() == 0:
        assert out[0] == "wedata-run"  # the copy is readable by the run-as user
    assert out[1] == Path("/etc/passwd").read_text().splitlines()[0]
    assert int(out[2]) == len(os.listdir("/etc/ssl/certs")) > 0  # a directory of the list: bound whole
    assert int(out[3]) > 0
    text = "\n".join(out)
    assert "/etc/shadow: No such file" in text and "/etc/sandbox': No such file" in text
    assert text.count("Read-only file system") == 2, text
    assert out[-2:] == ["1", "done"]  # name resolution works through the copied nsswitch.conf and hosts
    copy = home / "sandbox" / "etc"
    assert (copy / "passwd").read_text() == Path("/etc/passwd").read_text()
    argv = ex.sandbox.command(spec(home, 2, "true")) if ex.sandbox else []
    etc_binds = [argv[i + 1:i + 3] for i, a in enumerate(argv)
                 if a in ("--ro-bind", "--bind") and argv[i + 2].startswith("/etc")]
    assert [str(copy), "/etc"] in etc_binds and ["/etc/passwd", "/etc/passwd"] not in etc_binds
    assert all(os.path.isdir(src) for src, dst in etc_binds if dst != "/etc"), etc_binds


def test_a_home_that_cannot_hold_the_etc_copy_is_a_clear_refusal(home: Path) -> None:
    """The copy of /etc is made when the sandbox is probed: where it cannot be (here a file sits
    where its directory goes), an explicit bubblewrap mode refuses to start with the reason, and
    auto falls back as for any other failing mode."""
    require_bwrap()
    (home / "sandbox").write_text("not a directory")
    with pytest.raises(SandboxError, match=r"cannot prepare the sandbox's /etc"):
        Sandbox.resolve(SandboxSettings(mode="bwrap", home=str(home)))
    box = Sandbox.resolve(SandboxSettings(mode="auto", home=str(home), allow_unisolated=True))
    assert "bwrap" not in box.isolation
    assert any("cannot prepare the sandbox's /etc" in note for note in box.notes), box.notes


def test_an_operators_binds_under_etc_still_reach_the_attempt(home: Path, executors: list[LocalExecutor]) -> None:
    """WEDATA_SANDBOX_RO_BIND of a file and a directory under /etc that the allow-list leaves out:
    they are bound over the read-only copy (executors/staged_etc.py makes their mount points)."""
    require_bwrap()
    extra = [p for p in ("/etc/hostname", "/etc/apt") if os.path.exists(p)]
    if len(extra) < 2:
        pytest.skip("this machine has no /etc/hostname or /etc/apt")
    ex, exits = started(SandboxSettings(mode="auto", home=str(home), ro_bind=tuple(extra)))
    executors.append(ex)
    # Without their mount points bubblewrap fails (EROFS), and auto would fall back to a weaker mode.
    assert "bwrap" in str(ex.isolation["isolation"]), ex.isolation
    s = spec(home, 1, "cat /etc/hostname; ls /etc/apt | grep -c .; head -1 /etc/passwd", trusted=True)
    ex.submit(s)
    assert exits.wait(1) == 0, Path(s.log_path).read_text()
    out = Path(s.log_path).read_text().splitlines()
    assert out[0] == Path("/etc/hostname").read_text().strip()
    assert int(out[1]) == len(os.listdir("/etc/apt")) and out[2] == Path("/etc/passwd").read_text().splitlines()[0]
