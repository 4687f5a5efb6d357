"""Secrets at rest and private files (issue 15, item 2), on live servers driven by the SDK.

The SecretKeys are encrypted in the database under a 0600 key file; an existing plain-text
database is upgraded and its credentials keep working; a key file others can read, or that is
not the database's key, stops the server before it starts; the home, the database, the logs and
the run directories are private to the server's user; a second server on a used port fails fast
without touching anything.
"""

from __future__ import annotations

import os
import socket
import stat
import subprocess
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import insert, select

from tests.actions.instances.test_instances import new_space, submit, wait_for
from tests.conftest import require_postgres
from tests.support import (
    ADMIN_ID,
    ADMIN_KEY,
    ADMIN_UIN,
    PG_URL,
    ROOT,
    Api,
    ServerProcess,
    create_pg_database,
    drop_pg_database,
    wedata_cli,
)
from wedata.storage import tables as T
from wedata.storage.db import Database
from wedata.storage.migrate import upgrade
from wedata.storage.secrets import PREFIX, KeyFileError, SecretBox


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def db_url(server: ServerProcess) -> str:
    return server.database_url or f"sqlite:///{server.home / 'wedata.db'}"


def stored_secrets(server: ServerProcess) -> list[tuple[str, str, str | None]]:
    db = Database(db_url(server))
    try:
        with db.read() as conn:
            c = T.credentials.c
            return [tuple(r) for r in conn.execute(select(c.secret_id, c.secret_key, c.token))]  # type: ignore[misc]
    finally:
        db.dispose()


def sqlite_bytes(home: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(home.glob("wedata.db*")))


def pg_table_bytes(url: str, table: str) -> bytes:
    """The bytes of a table's heap file as PostgreSQL stores them (the test role is a superuser)."""
    import psycopg

    with psycopg.connect(url.replace("postgresql+psycopg", "postgresql"), autocommit=True) as conn:
        conn.execute("CHECKPOINT")
        row = conn.execute("SELECT pg_read_binary_file(pg_relation_filepath(%s))", (table,)).fetchone()
    assert row is not None
    return bytes(row[0])


def run_cli(home: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    srv = ServerProcess(home, migrated=False)
    full = srv.env()
    full.update(env or {})
    return subprocess.run([*wedata_cli(), *args], env=full, capture_output=True, text=True, cwd=ROOT, timeout=timeout)


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str | None]:
    """None (SQLite under the home) or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        yield None
        return
    require_postgres()
    name = create_pg_database()
    yield f"{PG_URL}/{name}"
    drop_pg_database(name)


# ------------------------------------------------------------------------------------------------
# Encrypted at rest


def test_secret_keys_are_not_stored_in_plain_text(server: ServerProcess) -> None:
    user = server.new_user()
    assert user.data("ListTenantRoles")  # the encrypted credential authenticates
    rows = {sid: (key, token) for sid, key, token in stored_secrets(server)}
    for api in (server.admin(), user):
        key, _ = rows[api.secret_id]
        assert key.startswith(PREFIX) and api.secret_key not in key
    if server.database_url is None:
        raw = sqlite_bytes(server.home)
        assert ADMIN_KEY.encode() not in raw and user.secret_key.encode() not in raw
        assert user.secret_id.encode() in raw  # (the file is the right one: the id is there)
    key_file = server.home / "keys" / "secret.key"
    assert mode(key_file) == 0o600 and mode(key_file.parent) == 0o700
    # The key is shown once, at creation; the listing never shows it.
    listed = server.cli("credentials", "list")
    assert user.secret_id in listed and user.secret_key not in listed and ADMIN_KEY not in listed


def test_a_plain_text_database_is_upgraded_and_its_credentials_still_work(
    tmp_path: Path, database_url: str | None
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    url = database_url or f"sqlite:///{home / 'wedata.db'}"
    # A database as the server left it before secrets were encrypted (revision 0006).
    legacy = Database(url)
    upgrade(legacy, "0006")
    temp_id, temp_key, temp_token = "AKIDLEGACYTEMP00000000000000000001", "LegacyTempKey000000000000000001", "tok-123"
    with legacy.write() as conn:
        conn.execute(
            insert(T.credentials),
            [
                dict(secret_id=ADMIN_ID, secret_key=ADMIN_KEY, uin=ADMIN_UIN, token=None, is_admin=True,
                     description="legacy admin", created_at=datetime(2025, 1, 1)),
                dict(secret_id=temp_id, secret_key=temp_key, uin="200000000077", token=temp_token, is_admin=False,
                     description="legacy temporary", created_at=datetime(2025, 1, 2)),
            ],
        )
    legacy.dispose()
    srv = ServerProcess(home, database_url, migrated=False).start()
    try:
        assert "Running upgrade 0006 -> 0007" in srv.log_path.read_text()
        assert srv.admin().data("ListTenantRoles")
        temp = Api(srv.endpoint, temp_id, temp_key, temp_token)
        assert temp.data("ListTenantRoles")
        # The token is still required, and checked against the decrypted one.
        assert Api(srv.endpoint, temp_id, temp_key, "tok-wrong").error("ListTenantRoles").code.startswith(
            "AuthFailure"
        )
        rows = {sid: (key, token) for sid, key, token in stored_secrets(srv)}
        assert rows[ADMIN_ID][0].startswith(PREFIX) and rows[temp_id][0].startswith(PREFIX)
        assert rows[temp_id][1] is not None and rows[temp_id][1].startswith(PREFIX)
        assert ADMIN_KEY not in rows[ADMIN_ID][0] and temp_key not in rows[temp_id][0]
        # Not even in the storage: the replaced plain values were vacuumed away.
        raw = sqlite_bytes(home) if database_url is None else pg_table_bytes(database_url, "credentials")
        assert temp_id.encode() in raw
        assert temp_key.encode() not in raw and ADMIN_KEY.encode() not in raw and temp_token.encode() not in raw
    finally:
        srv.stop()


def test_migration_0007_encrypts_and_decrypts_only_with_the_key(tmp_path: Path, database_url: str | None) -> None:
    from wedata.storage.migrate import downgrade

    db = Database(database_url or f"sqlite:///{tmp_path / 'w.db'}")
    upgrade(db, "0006")
    with db.write() as conn:
        conn.execute(insert(T.credentials).values(secret_id="AKIDX", secret_key="plain", uin="1", token=None,
                                                  is_admin=False, description="", created_at=datetime(2025, 1, 1)))
    # Rows to encrypt and no key: the migration refuses, nothing changes.
    with pytest.raises(RuntimeError, match="key file"):
        upgrade(db)
    with db.read() as conn:
        assert conn.execute(select(T.credentials.c.secret_key)).scalar() == "plain"
    box = SecretBox.generate()
    upgrade(db, box=box)
    with db.read() as conn:
        stored = conn.execute(select(T.credentials.c.secret_key)).scalar()
    assert stored.startswith(PREFIX) and box.decrypt(stored) == "plain"
    downgrade(db, "0006", box=box)
    with db.read() as conn:
        assert conn.execute(select(T.credentials.c.secret_key)).scalar() == "plain"
    db.dispose()


def test_secret_box_key_file_rules(tmp_path: Path) -> None:
    path = tmp_path / "k" / "sub" / "secret.key"
    box = SecretBox.from_key_file(path)
    assert box.created and mode(path) == 0o600 and mode(path.parent) == 0o700
    again = SecretBox.from_key_file(path)
    assert not again.created and again.decrypt(box.encrypt("s3cret")) == "s3cret"
    assert box.encrypt("s3cret") != box.encrypt("s3cret")  # Fernet is randomised
    assert "s3cret" not in box.encrypt("s3cret")
    path.chmod(0o640)
    with pytest.raises(KeyFileError, match="chmod 600"):
        SecretBox.from_key_file(path)
    path.chmod(0o600)
    path.write_text("not a key\n")
    with pytest.raises(KeyFileError, match="Fernet key"):
        SecretBox.from_key_file(path)


@pytest.mark.parametrize("problem", ["loose", "directory", "garbage", "other key", "lost key"])
def test_an_unusable_key_file_refuses_start(tmp_path: Path, problem: str) -> None:
    home = tmp_path / "home"
    key = home / "keys" / "secret.key"
    if problem in ("other key", "lost key"):
        made = run_cli(home, "credentials", "create", "--uin", "123")  # creates the key, stores it encrypted
        assert made.returncode == 0, made.stderr
        if problem == "other key":
            key.write_bytes(Fernet.generate_key())
            assert mode(key) == 0o600
        else:
            key.unlink()
    else:
        key.parent.mkdir(parents=True)
        if problem == "directory":
            key.mkdir()
        else:
            key.write_bytes(Fernet.generate_key() if problem == "loose" else b"garbage")
            key.chmod(0o644 if problem == "loose" else 0o600)
    srv = ServerProcess(home, migrated=False)
    with pytest.raises(RuntimeError, match="server exited early") as info:
        srv.start()
    message = {
        "loose": "mode 0644: group and others must have no access",
        "directory": "is not a regular file",
        "garbage": "does not hold a Fernet key",
        "other key": "cannot decrypt the secrets stored in the database",
        "lost key": "cannot decrypt the secrets stored in the database",
    }[problem]
    assert message in str(info.value)
    assert "Traceback" not in str(info.value)
    assert srv.proc is not None and srv.proc.returncode != 0
    if problem == "lost key":
        assert not key.exists()  # the key this start created (the wrong one) is not left behind
    elif problem != "other key":
        assert not (home / "wedata.db").exists()  # refused before the database was opened


# ------------------------------------------------------------------------------------------------
# Private files


def test_home_database_logs_and_run_dirs_are_private_after_a_task_runs(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    home.chmod(0o755)  # an existing home from before: tightened, with a log line
    srv = ServerProcess(home, migrated=False).start()
    try:
        api = srv.admin()
        space = new_space(api)
        # The attempt's run directory is removed when it ends: the task reports its own modes.
        task_id = submit(api, space, 'echo private > out.txt\nstat -c "mode %a %n" out.txt . ..\necho done')
        (item,) = wait_for(api, space, task_id, {"COMPLETED"})
        log_text = api.data("GetTaskInstanceLog", {"ProjectId": space.project,
                                                   "InstanceKey": item["InstanceKey"]})["LogInfo"]
    finally:
        srv.stop()
    log = srv.log_path.read_text()
    assert "had mode 0755 (open to other users); set it to 0700" in log
    assert mode(home) == 0o700
    files = [p for p in home.rglob("*") if p != srv.log_path]  # server.log is the test's own file
    # The task wrote into its run directory: its file, work directory and run directory were
    # its user's alone (600, 700, 700).
    lines = log_text.split("<br>")
    assert {"mode 600 out.txt", "mode 700 .", "mode 700 .."} <= set(lines), log_text
    assert any(p.parent.name == "logs" or "logs" in p.parts for p in files if p.is_file())
    assert (home / "wedata.db").exists()
    open_to_others = [f"{p.relative_to(home)} {mode(p):04o}" for p in files if mode(p) & 0o077]
    assert open_to_others == []


def test_a_second_server_on_a_used_port_fails_fast_without_touching_anything(tmp_path: Path) -> None:
    home = tmp_path / "fresh"
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        started = time.monotonic()
        res = run_cli(home, "server", "--port", str(port), timeout=30)
        elapsed = time.monotonic() - started
    assert res.returncode != 0
    assert f"cannot listen on 127.0.0.1:{port}" in res.stderr and "nothing was started" in res.stderr
    assert "Traceback" not in res.stderr
    assert not home.exists()  # no home, no key, no database, no engine
    assert elapsed < 10


def test_a_second_server_on_the_port_of_a_running_one_leaves_its_database_alone(
    server: ServerProcess, tmp_path: Path
) -> None:
    before = os.stat(server.home / "keys" / "secret.key").st_mtime_ns
    env = {"WEDATA_DATABASE_URL": server.database_url} if server.database_url else {}
    res = run_cli(server.home, "server", "--port", str(server.port), env=env, timeout=30)
    assert res.returncode != 0 and "cannot listen on" in res.stderr
    assert "Running upgrade" not in res.stderr and "scheduler engine" not in res.stderr
    assert os.stat(server.home / "keys" / "secret.key").st_mtime_ns == before
    assert server.admin().data("ListTenantRoles")  # the running server is unaffected


def test_a_new_sqlite_database_is_private_whatever_the_umask(tmp_path: Path) -> None:
    """build_runtime in process (a library user, a benchmark) does not get the CLI's umask 077:
    the database and its WAL are still 0600 in a 0700 home."""
    from wedata.app import build_runtime
    from wedata.config import Settings

    before = os.umask(0o022)
    try:
        runtime = build_runtime(Settings(home=tmp_path / "home", scheduler_enabled=False))
        runtime.credentials.create("100000000009", secret_id="AKIDUMASK0000000000000000000000001",
                                   secret_key="umask-key")
        runtime.db.dispose()
    finally:
        os.umask(before)
    home = tmp_path / "home"
    assert mode(home) == 0o700
    made = {p.name: mode(p) for p in home.iterdir() if p.name.startswith("wedata.db")}
    assert made.get("wedata.db") == 0o600 and all(m == 0o600 for m in made.values()), made
