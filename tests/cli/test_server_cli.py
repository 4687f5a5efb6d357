"""`wedata server` first start, `wedata credentials`, `--help` speed."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from tests.support import ROOT, Api, ServerProcess, clean_env, wedata_cli


def _start_without_secret(home: Path) -> tuple[ServerProcess, str]:
    srv = ServerProcess(home, migrated=False)
    env = srv.env()
    env.pop("WEDATA_SECRET_ID")
    env.pop("WEDATA_SECRET_KEY")
    srv.env = lambda: env  # type: ignore[method-assign]
    srv.start()
    return srv, srv.log_path.read_text()


def test_first_start_creates_and_prints_an_admin_credential_once(tmp_path: Path) -> None:
    srv, log = _start_without_secret(tmp_path)
    try:
        m = re.search(r"SecretId:\s+(\S+)\s+SecretKey:\s+(\S+)", log)
        assert m, log
        api = Api(srv.endpoint, m.group(1), m.group(2))
        assert api.data("ListTenantRoles")
    finally:
        srv.stop()
    srv2, log2 = _start_without_secret(tmp_path)
    srv2.stop()
    assert log2.count("SecretKey:") == 1  # the same log file: printed on the first start only


def test_credentials_create_list_delete(tmp_path: Path) -> None:
    srv = ServerProcess(tmp_path, migrated=False)
    out = srv.cli("credentials", "create", "--uin", "123", "--description", "ci")
    sid = re.search(r"SecretId:\s+(\S+)", out).group(1)  # type: ignore[union-attr]
    listed = srv.cli("credentials", "list")
    assert sid in listed and "123" in listed
    srv.cli("credentials", "delete", sid)
    assert sid not in srv.cli("credentials", "list")
    res = subprocess.run([*wedata_cli(), "credentials", "delete", sid], env=srv.env(), capture_output=True, text=True, cwd=ROOT)
    assert res.returncode != 0 and "no credential" in res.stderr


def test_help_imports_nothing_heavy() -> None:
    """`wedata --help` stays fast because the CLI imports SQLAlchemy, uvicorn and rich lazily."""
    code = (
        "import sys; from click.testing import CliRunner; from wedata.cli.main import main; "
        "r = CliRunner().invoke(main, ['--help']); assert r.exit_code == 0 and 'server' in r.output; "
        "print(sorted(m for m in ('sqlalchemy', 'uvicorn', 'rich', 'starlette', 'msgspec') if m in sys.modules))"
    )
    res = subprocess.run([*wedata_cli()[:1], "-c", code], env=clean_env(), capture_output=True, text=True, cwd=ROOT)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "[]"
