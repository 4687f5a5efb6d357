"""Task isolation: what one attempt's process can see of this machine, and as whom it runs.

A task is somebody's code. It may read and write its own run directory (``work/`` under the
attempt's run directory is its HOME and working directory; the code file next to it is
read-only), the staged resources and what its code is given (parameters, the ``WEDATA_*``
instance variables) and nothing of the server: not the database file, the key files, anything
else under ``WEDATA_HOME`` (other attempts' run directories, every log), the server's
environment or memory. docs/security.md is the user's page; this module decides and builds it.

Modes (``WEDATA_SANDBOX``):

- ``bwrap``: bubblewrap. A new mount namespace built from an allow-list: ``/usr`` and the
  ``/bin``, ``/lib*`` links, a few ``/etc`` files (users, name resolution, time zone, TLS
  certificates, the dynamic linker), the Python prefix the tasks' interpreter lives in, a fresh
  ``/tmp``, a minimal ``/dev`` and a new ``/proc`` in a new PID namespace (the server's
  ``/proc/<pid>`` does not exist in there), all read-only except ``/tmp``, ``/dev/shm`` and the
  attempt's ``work/``. ``WEDATA_HOME`` is replaced by an empty tmpfs whatever else is bound, so
  only the attempt's own run directory shows through. Unprivileged servers get a user namespace
  (``--unshare-user``); a root server runs bwrap without one (a user namespace would map the
  task to host root) and bwrap drops every capability.
  The network is shared on purpose: tasks talk to databases and object stores. The server's
  own database must therefore require a password (no ``trust`` authentication), see
  docs/security.md.
- ``user``: a root server runs the attempt as an unprivileged user (``WEDATA_RUN_AS_USER``,
  ``wedata-run``) through util-linux ``setpriv`` (no supplementary groups, no capabilities,
  no new privileges). ``WEDATA_HOME`` is made 0700 root-owned so that user cannot enter it;
  the attempt reaches its ``work/`` (owned by that user) because the wrapper changes into it
  before dropping privileges. All attempts share that one user, so this mode protects the
  server but not attempts from each other: prefer ``bwrap+user``.
- ``bwrap+user``: both (bwrap keeps ``CAP_SETUID``/``CAP_SETGID``/``CAP_SETPCAP`` just long
  enough for ``setpriv`` inside the sandbox to become the run-as user; the mounts are made by
  root, so an interpreter under a private ``/root`` still works).
- ``auto`` (default): ``bwrap+user`` when root, bwrap works and the run-as user exists;
  else ``bwrap``; else ``user`` (root and the user exists); else ``none``. bwrap is probed once
  at start by running the real sandbox around ``/bin/true``.
- ``none``: no isolation. The server logs a WARNING at start, ``/healthz`` says
  ``"isolation": "none"``, and attempts of tasks whose users are not all tenant admins are
  refused unless ``WEDATA_ALLOW_UNISOLATED=1``.

Decisions where nothing prescribes:

- An explicit mode that does not work here stops the engine from starting (SandboxError): an
  operator who asked for a sandbox must not silently get none. Only ``auto`` falls back.
- The server never creates users; ``wedata setup-sandbox`` does (:func:`setup`).
- Kills: the attempt stays in the wrapper's process group (no ``--new-session``: the attempt
  has no controlling terminal to inject into, stdin is /dev/null and the wrapper already runs
  in its own session), so the executor's SIGTERM reaches every process and the task may clean
  up; the SIGKILL that follows the grace period also hits the PID namespace's init, and the
  kernel then kills everything left in the namespace, even a process that escaped the group
  with ``setsid``. ``--die-with-parent`` is not used: it would SIGKILL the task at the first
  SIGTERM, before its grace period.
- The environment is built from scratch (:meth:`Sandbox.environment`): PATH, HOME, LANG, TZ,
  USER/LOGNAME and the variables the engine gives the task; never the server's own.
"""

from __future__ import annotations

import contextlib
import glob
import logging
import os
import pwd
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wedata.executors.base import RunSpec
from wedata.executors.staged_etc import StagedEtc

log = logging.getLogger("wedata.sandbox")

MODES = ("auto", "bwrap", "bwrap+user", "user", "none")
BWRAP = "/usr/bin/bwrap"
SETPRIV = "/usr/bin/setpriv"
DEFAULT_PATH = "/usr/local/bin:/usr/bin:/bin"
# /etc entries a task may need (and nothing else of /etc: no shadow, no ssh host keys).
ETC_FILES = (
    "passwd", "group", "nsswitch.conf", "hosts", "host.conf", "resolv.conf", "gai.conf", "localtime",
    "timezone", "ld.so.cache", "ld.so.conf", "ld.so.conf.d", "ssl/certs", "ssl/openssl.cnf", "ca-certificates",
    "ca-certificates.conf",
    "pki", "crypto-policies", "alternatives", "mime.types", "protocols", "services", "os-release",
    "debian_version", "locale.alias", "locale.conf", "default/locale", "bash.bashrc", "profile", "inputrc",
    "odbcinst.ini", "odbc.ini", "krb5.conf",
)
_LINKS = ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
_MOUNTS_TTL = 60.0  # seconds an attempt-independent mount list is reused (Sandbox._shared_mounts)


class SandboxError(Exception):
    """The configured isolation cannot be provided on this machine."""


def is_root() -> bool:
    return os.geteuid() == 0


@dataclass(frozen=True)
class RunAs:
    name: str
    uid: int
    gid: int

    @classmethod
    def lookup(cls, name: str) -> RunAs | None:
        try:
            pw = pwd.getpwnam(name)
        except KeyError:
            return None
        return cls(name, pw.pw_uid, pw.pw_gid)


@dataclass(frozen=True)
class SandboxSettings:
    """What the operator asked for (from :class:`wedata.config.Settings`)."""

    mode: str = "auto"
    run_as_user: str = "wedata-run"
    allow_unisolated: bool = False
    home: str | None = None  # WEDATA_HOME: hidden from every attempt (but its own run dir)
    hide: tuple[str, ...] = ()  # more of the server to hide (an SQLite file outside the home)
    bind: tuple[str, ...] = ()  # extra host paths, read-write (WEDATA_SANDBOX_BIND)
    ro_bind: tuple[str, ...] = ()  # extra host paths, read-only (WEDATA_SANDBOX_RO_BIND)
    # Attempts run at this nice level (WEDATA_TASK_NICE; 0: the server's own): under a burst of
    # runs the API and the engine keep their share of the CPU (docs/protocol.md, "Mixed load").
    nice: int = 0

    @classmethod
    def from_settings(cls, settings: Any) -> SandboxSettings:
        hide: list[str] = []
        url = str(settings.db_url)
        if url.startswith("sqlite:///"):
            db_dir = os.path.dirname(os.path.abspath(url[len("sqlite:///"):]))
            if not _within(db_dir, str(settings.home)):
                hide.append(db_dir)
        return cls(
            mode=settings.sandbox,
            run_as_user=settings.run_as_user,
            allow_unisolated=settings.allow_unisolated,
            home=str(Path(settings.home).absolute()),
            hide=tuple(hide),
            bind=tuple(settings.sandbox_bind),
            ro_bind=tuple(settings.sandbox_ro_bind),
            nice=settings.task_nice,
        )


def _within(path: str, root: str) -> bool:
    path, root = os.path.normpath(path), os.path.normpath(root)
    return path == root or path.startswith(root.rstrip("/") + "/")


def _task_python() -> str:
    """The interpreter Python tasks use by default (executors/tasktypes.py: the server's base)."""
    base = getattr(sys, "_base_executable", None) or sys.executable
    return base if base and os.path.exists(base) else sys.executable


def _prefix_of(executable: str) -> str | None:
    """The installation prefix an interpreter needs (``<prefix>/bin/python3`` -> ``<prefix>``)."""
    real = os.path.realpath(executable)
    base = os.path.realpath(sys.base_prefix)
    if _within(real, base):
        return base
    parent = os.path.dirname(os.path.dirname(real))
    return parent if parent not in ("", "/") else None


def _venv_of(executable: str) -> str | None:
    """The virtual environment an interpreter runs in (``<venv>/bin/python``, its
    ``pyvenv.cfg`` beside ``bin``), read-only in the sandbox with its base prefix: the server's
    own environment runs Notebook tasks (executors/notebook_runner.py). Code, no secrets."""
    venv = os.path.dirname(os.path.dirname(os.path.abspath(executable)))
    return venv if venv not in ("", "/") and os.path.isfile(os.path.join(venv, "pyvenv.cfg")) else None


@dataclass
class Sandbox:
    """The isolation decided for this process; builds each attempt's command and environment."""

    isolation: str  # "bwrap+user", "bwrap", "user" or "none"
    settings: SandboxSettings = field(default_factory=SandboxSettings)
    run_as: RunAs | None = None
    notes: list[str] = field(default_factory=list)  # why auto chose what it chose
    refuse_untrusted: bool = False  # none mode without WEDATA_ALLOW_UNISOLATED
    lang: str = "C.UTF-8"
    tz: str | None = None
    # Interpreter -> (when built, the mounts every attempt shares): _shared_mounts.
    _mounts_cache: dict[str | None, tuple[float, _Mounts]] = field(default_factory=dict, repr=False, compare=False)
    _etc: StagedEtc | None = field(default=None, repr=False, compare=False)

    # -- deciding ---------------------------------------------------------------------------

    @classmethod
    def unsandboxed(cls) -> Sandbox:
        """No isolation and no refusal: the bare executor of unit tests and tools."""
        return cls("none", SandboxSettings(mode="none", allow_unisolated=True))

    @classmethod
    def resolve(cls, settings: SandboxSettings) -> Sandbox:
        """Decide the isolation once, at start (probing bwrap); raise SandboxError when an
        explicitly requested mode does not work here."""
        if settings.mode not in MODES:
            raise SandboxError(f"WEDATA_SANDBOX must be one of {', '.join(MODES)}, got {settings.mode!r}")
        run_as = RunAs.lookup(settings.run_as_user) if is_root() else None
        mode = settings.mode
        notes: list[str] = []
        if mode == "auto":
            chosen: Sandbox | None = None
            candidates = (["bwrap+user"] if run_as else []) + ["bwrap"] + (["user"] if run_as else [])
            for candidate in candidates:
                box = cls._make(candidate, settings, run_as)
                problem = box.probe()
                if problem is None:
                    chosen = box
                    break
                notes.append(f"{candidate}: {problem}")
            if is_root() and run_as is None:
                notes.append(f"run-as user {settings.run_as_user!r} does not exist (create it with `wedata setup-sandbox`)")
            box = chosen or cls._make("none", settings, run_as)
            box.notes = notes + box.notes
            return box
        if mode in ("user", "bwrap+user"):
            if not is_root():
                raise SandboxError(f"WEDATA_SANDBOX={mode} needs a server running as root")
            if run_as is None:
                raise SandboxError(f"WEDATA_SANDBOX={mode}: user {settings.run_as_user!r} does not exist; "
                                   "create it with `wedata setup-sandbox`")
        box = cls._make(mode, settings, run_as)
        problem = box.probe()
        if problem is not None:
            raise SandboxError(f"WEDATA_SANDBOX={mode} does not work here: {problem}")
        return box

    @classmethod
    def _make(cls, isolation: str, settings: SandboxSettings, run_as: RunAs | None) -> Sandbox:
        return cls(
            isolation,
            settings,
            run_as if isolation in ("user", "bwrap+user") else None,
            refuse_untrusted=isolation == "none" and not settings.allow_unisolated,
            lang=os.environ.get("LANG") or "C.UTF-8",
            tz=os.environ.get("TZ") or None,
        )

    def probe(self) -> str | None:
        """None when this isolation works here, else why not (runs it around /bin/true)."""
        if self.isolation == "none":
            return None
        if "bwrap" in self.isolation and not os.access(BWRAP, os.X_OK):
            return f"{BWRAP} is missing (Debian package bubblewrap)"
        if "user" in self.isolation and not os.access(SETPRIV, os.X_OK):
            return f"{SETPRIV} is missing (Debian package util-linux)"
        problem = self._try(["/bin/true"])
        if problem is None and self.isolation == "user":
            # Outside a sandbox the run-as user must reach the interpreter by its own rights.
            python = self._try([_task_python(), "-c", "pass"])
            if python is not None:
                self.notes.append(f"Python tasks will fail: user {self.settings.run_as_user} cannot run "
                                  f"{_task_python()} ({python}); use bwrap+user or a system Python")
        return problem

    def _try(self, cmd: list[str]) -> str | None:
        try:
            argv = self._wrap(cmd, None, "/")  # may copy /etc into the home (staged_etc.py)
        except OSError as exc:
            return f"cannot prepare the sandbox's /etc: {exc}"
        try:
            out = subprocess.run(argv, env=self._base_env("/"), cwd="/", capture_output=True, text=True,
                                 timeout=30, stdin=subprocess.DEVNULL)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return f"{argv[0]}: {exc}"
        if out.returncode != 0:
            return f"{' '.join(cmd)} exited {out.returncode}: {out.stderr.strip()[:300]}"
        return None

    # -- what the server reports ------------------------------------------------------------

    def describe(self) -> dict[str, Any]:
        """The /healthz fields."""
        out: dict[str, Any] = {"isolation": self.isolation}
        if self.run_as is not None:
            out["run_as_user"] = self.run_as.name
        if self.isolation == "none":
            out["unisolated_tasks"] = "refused-for-non-admins" if self.refuse_untrusted else "allowed"
        return out

    def announce(self) -> None:
        """One log line at start; a WARNING when tasks run without isolation."""
        why = f" ({'; '.join(self.notes)})" if self.notes else ""
        if self.isolation == "none":
            policy = ("attempts of tasks whose users are not all tenant admins are REFUSED "
                      "(set WEDATA_ALLOW_UNISOLATED=1 to accept the risk)") if self.refuse_untrusted else \
                "WEDATA_ALLOW_UNISOLATED=1: every task runs unisolated"
            log.warning("TASK ISOLATION IS OFF (WEDATA_SANDBOX=%s): tasks run as the server's own user and can "
                        "read its database, keys and environment; %s; see docs/security.md%s",
                        self.settings.mode, policy, why)
        else:
            user = f" as user {self.run_as.name}" if self.run_as else ""
            log.info("task isolation: %s%s%s", self.isolation, user, why)

    def refusal(self, spec: RunSpec) -> str | None:
        if self.refuse_untrusted and spec.trusted is not True:
            return ("refused: this server runs tasks without isolation (WEDATA_SANDBOX="
                    f"{self.settings.mode}, no sandbox available) and not every user of this task (owner, "
                    "creator, last editor, submitter) is a tenant admin; an administrator can enable a sandbox "
                    "(docs/security.md) or set WEDATA_ALLOW_UNISOLATED=1 to accept the risk")
        return None

    # -- one attempt ------------------------------------------------------------------------

    def prepare(self, spec: RunSpec) -> None:
        """Make the attempt's directories usable (and only usable) by whoever runs it."""
        os.makedirs(spec.cwd, exist_ok=True)
        if self.run_as is not None:
            # The code readable by the run-as user, the directory not writable by it.
            os.chmod(spec.run_dir, 0o755)
            for entry in os.scandir(spec.run_dir):
                if entry.is_file(follow_symlinks=False):
                    os.chmod(entry.path, 0o644)
            os.chown(spec.cwd, self.run_as.uid, self.run_as.gid)
            os.chmod(spec.cwd, 0o700)

    def command(self, spec: RunSpec) -> list[str]:
        """The argv that runs ``spec.argv`` inside this isolation (the wrapper goes around it)."""
        argv = list(spec.argv)
        if self.isolation == "user":
            # The run directory is reachable only through the working directory (WEDATA_HOME is
            # 0700): the wrapper changes into it as root, the task uses relative paths.
            prefix = spec.run_dir.rstrip("/") + "/"
            argv = [os.path.relpath(a, spec.cwd) if a.startswith(prefix) else a for a in argv]
        return self._wrap(argv, spec, spec.cwd)

    def environment(self, spec: RunSpec) -> dict[str, str]:
        env = self._base_env(spec.cwd)
        env.update(spec.env)
        return env

    def _base_env(self, home: str) -> dict[str, str]:
        """From scratch: never the server's environment (its secrets, its WEDATA_* settings)."""
        py_bin = os.path.dirname(_task_python())
        path = DEFAULT_PATH if py_bin in DEFAULT_PATH.split(":") else f"{py_bin}:{DEFAULT_PATH}"
        user = self.run_as.name if self.run_as else _own_user()
        env = {"PATH": path, "HOME": home, "LANG": self.lang, "USER": user, "LOGNAME": user}
        if self.tz:
            env["TZ"] = self.tz
        return env

    def _wrap(self, argv: list[str], spec: RunSpec | None, cwd: str) -> list[str]:
        if self.isolation == "none":
            return argv
        if self.run_as is not None:
            argv = [SETPRIV, f"--reuid={self.run_as.uid}", f"--regid={self.run_as.gid}", "--clear-groups",
                    "--inh-caps=-all", "--bounding-set=-all", "--no-new-privs", "--", *argv]
        if self.isolation == "user":
            return argv
        return [BWRAP, *self._bwrap_args(argv, spec, cwd), "--", *argv]

    def _bwrap_args(self, argv: Sequence[str], spec: RunSpec | None, cwd: str) -> list[str]:
        exe = spec.argv[0] if spec is not None and spec.argv else None
        mounts = self._shared_mounts(exe).copy()
        # Through the tmpfs over the home only this attempt's run directory: the code read-only,
        # work/ read-write.
        if spec is not None:
            mounts.ro_bind(spec.run_dir)
            mounts.bind(spec.cwd)
        return [*mounts.args, "--chdir", cwd]

    def _shared_mounts(self, exe: str | None) -> _Mounts:
        """What every attempt running ``exe`` sees, built once a minute per interpreter: the
        system paths, /etc files and prefixes looked up (~60 stat calls and the walk over them,
        a tenth of the engine's CPU per run when built for every attempt). A file appearing in,
        or changed in, /etc is seen by the attempts started a minute later at most (the copy of
        the files is brought in step here: executors/staged_etc.py)."""
        now = time.monotonic()
        got = self._mounts_cache.get(exe)
        if got is None or now - got[0] > _MOUNTS_TTL:
            got = (now, self._build_shared_mounts(exe))
            self._mounts_cache[exe] = got
        return got[1]

    def _staged_etc(self) -> StagedEtc | None:
        """Where the allow-listed /etc files are copied (``<WEDATA_HOME>/sandbox/etc``); None
        without a home (unit tests, tools): each file is then bound by itself."""
        if self._etc is None and self.settings.home:
            self._etc = StagedEtc(os.path.join(self.settings.home, "sandbox", "etc"))
        return self._etc

    def _build_shared_mounts(self, exe: str | None) -> _Mounts:
        s = self.settings
        args: list[str] = []
        if is_root():
            if self.run_as is not None:  # for setpriv inside; it drops them all
                args += ["--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID", "--cap-add", "CAP_SETPCAP"]
        else:
            args.append("--unshare-user")
        args += ["--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try"]
        mounts = _Mounts(args)
        mounts.ro_bind("/usr")
        for link in _LINKS:
            if os.path.islink(link):
                args += ["--symlink", os.readlink(link), link]
            elif os.path.isdir(link):
                mounts.ro_bind(link)
        etc_names = [*ETC_FILES, *(os.path.basename(p) for p in sorted(glob.glob("/etc/python3*")))]  # Debian's sitecustomize
        staged = self._staged_etc()
        if staged is not None:
            # The files in one mount (executors/staged_etc.py), the directories bound over it.
            shared = [os.path.abspath(p) for p in (*s.ro_bind, *s.bind)]  # bound below: their mount points
            staged.sync(etc_names, [os.path.relpath(p, "/etc") for p in shared if p != "/etc" and _within(p, "/etc")])
            mounts.ro_bind_at(staged.root, "/etc")
            for name in [*staged.dirs, *staged.bound]:
                mounts.ro_bind(f"/etc/{name}")
        else:
            for name in etc_names:
                if os.path.exists(f"/etc/{name}"):
                    mounts.ro_bind(f"/etc/{name}")
        for interpreter in sorted({_task_python(), *([exe] if exe else [])}):
            prefix = _prefix_of(interpreter) if os.path.isabs(interpreter) else None
            if prefix and not mounts.covered(prefix):
                mounts.ro_bind(prefix)
            venv = _venv_of(interpreter) if os.path.isabs(interpreter) else None
            if venv and not mounts.covered(venv):
                mounts.ro_bind(venv)
        args += ["--proc", "/proc", "--dev", "/dev", "--perms", "1777", "--tmpfs", "/dev/shm"]
        mounts.mark("/proc")
        mounts.mark("/dev")
        binds = [os.path.abspath(p) for p in s.bind]
        if not any(_within("/tmp", b) for b in binds):
            mounts.tmpfs("/tmp", perms="1777")
        for path in s.ro_bind:
            if os.path.exists(path):
                mounts.ro_bind(os.path.abspath(path))
        for path in binds:
            if os.path.exists(path):
                mounts.bind(path)
        # Whatever was bound above, the server's files stay out: an empty tmpfs over them.
        for hidden in ([s.home] if s.home else []) + list(s.hide):
            if mounts.exposes(hidden):
                mounts.tmpfs(hidden, perms="0755")
        return mounts


class _Mounts:
    """Builds bwrap mount arguments in order, creating missing parent directories 0755 (bwrap
    would copy a private parent's mode, e.g. /root 0700, and lock the run-as user out)."""

    def __init__(self, args: list[str]) -> None:
        self.args = args
        self.binds: list[str] = []  # host directories bound (their subtrees are real)
        self.made: list[str] = ["/"]  # directories of ours (tmpfs or created)

    def copy(self) -> _Mounts:
        other = _Mounts(list(self.args))
        other.binds, other.made = list(self.binds), list(self.made)
        return other

    def covered(self, path: str) -> bool:
        return any(_within(path, b) for b in self.binds)

    def exposes(self, path: str) -> bool:
        """Whether any of ``path`` would be visible (it is inside, or holds, something bound)."""
        return self.covered(path) or any(_within(b, path) for b in self.binds)

    def mark(self, path: str) -> None:
        self.made.append(path)

    def _parents(self, path: str) -> None:
        parents = []
        p = os.path.dirname(path)
        while p not in ("/", ""):
            parents.append(p)
            p = os.path.dirname(p)
        for parent in reversed(parents):
            if self.covered(parent) or parent in self.made:
                continue
            self.args += ["--perms", "0755", "--dir", parent]
            self.made.append(parent)

    def ro_bind(self, path: str) -> None:
        self.ro_bind_at(path, path)

    def ro_bind_at(self, source: str, path: str) -> None:
        """``source`` read-only at ``path`` (the binds record where it shows: ``path``)."""
        self._parents(path)
        self.args += ["--ro-bind", source, path]
        self.binds.append(path)

    def bind(self, path: str) -> None:
        self._parents(path)
        self.args += ["--bind", path, path]
        self.binds.append(path)

    def tmpfs(self, path: str, perms: str) -> None:
        self._parents(path)
        self.args += ["--perms", perms, "--tmpfs", path]
        self.binds = [b for b in self.binds if not _within(b, path)]
        self.made = [m for m in self.made if not _within(m, path)] + [path]


def _own_user() -> str:
    try:
        return pwd.getpwuid(os.geteuid()).pw_name
    except KeyError:
        return str(os.geteuid())


def secure_home(home: str | Path) -> None:
    """User modes: WEDATA_HOME must be root's alone (0700) so the run-as user cannot enter it."""
    with contextlib.suppress(OSError):
        st = os.stat(home)
        if st.st_mode & 0o077:
            os.chmod(home, st.st_mode & 0o700)
            log.info("made %s 0700: the run-as user must not enter it", home)


# -- `wedata setup-sandbox` ---------------------------------------------------------------------


def create_user(name: str) -> str:
    """Create the run-as system user (no home, no login shell). Needs root."""
    if RunAs.lookup(name) is not None:
        return f"user {name} exists"
    useradd = shutil.which("useradd") or "/usr/sbin/useradd"
    nologin = "/usr/sbin/nologin" if os.path.exists("/usr/sbin/nologin") else "/bin/false"
    subprocess.run([useradd, "--system", "--user-group", "--no-create-home", "--home-dir", "/nonexistent",
                    "--shell", nologin, "--comment", "wedata-server task runner", name],
                   check=True, capture_output=True, text=True)
    return f"created system user {name}"


def setup(settings: Any, user: str | None = None) -> list[str]:
    """What `wedata setup-sandbox` does: create the run-as user (root only), then report the
    isolation ``auto`` gets here. Raises SandboxError when something cannot be done."""
    lines: list[str] = []
    name = user or settings.run_as_user
    if is_root():
        try:
            lines.append(create_user(name))
        except (OSError, subprocess.CalledProcessError) as exc:
            detail = getattr(exc, "stderr", "") or str(exc)
            raise SandboxError(f"could not create user {name}: {detail.strip()}") from exc
    else:
        lines.append(f"not root: no run-as user needed (tasks run as {_own_user()} inside bubblewrap)")
    if not os.access(BWRAP, os.X_OK):
        lines.append(f"{BWRAP} is missing: install it (apt-get install -y bubblewrap)")
    sandbox_settings = SandboxSettings.from_settings(settings)
    from dataclasses import replace

    box = Sandbox.resolve(replace(sandbox_settings, mode="auto", run_as_user=name))
    lines.append(f"isolation with WEDATA_SANDBOX=auto: {box.isolation}")
    lines += [f"  not used: {n}" for n in box.notes]
    return lines


