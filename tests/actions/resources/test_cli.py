"""`wedata resources upload` uploads, registers (or replaces) and records size and hash."""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

from tests.actions.instances.test_instances import Space
from tests.support import ADMIN_ID, ADMIN_KEY, ROOT, Api, ServerProcess, clean_env, wedata_cli


def _cli(server: ServerProcess, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = clean_env()
    env.update(XDG_CONFIG_HOME=str(tmp_path / "config"), WEDATA_ENDPOINT=f"http://{server.endpoint}",
               WEDATA_SECRET_ID=ADMIN_ID, WEDATA_SECRET_KEY=ADMIN_KEY)
    return subprocess.run([*wedata_cli(), *args], env=env, capture_output=True, text=True, cwd=ROOT, timeout=60)


def test_cli_upload_registers_and_replaces(api: Api, space: Space, server: ServerProcess, tmp_path: Path) -> None:
    p = space.project
    api.data("CreateResourceFolder", {"ProjectId": p, "ParentFolderPath": "/", "FolderName": "cli"})
    f = tmp_path / "job.sh"
    f.write_bytes(b"echo one\n")
    out = _cli(server, tmp_path, "resources", "upload", str(f), "--project", p, "--folder", "/cli", "-o", "json")
    assert out.returncode == 0, out.stderr
    first = json.loads(out.stdout)
    assert first["Size"] == 9 and first["Sha256"] == hashlib.sha256(b"echo one\n").hexdigest()
    assert first["Replaced"] is False and first["RemotePath"] == f"/datastudio/resource/{p}/cli/job.sh"
    got = api.data("GetResourceFile", {"ProjectId": p, "ResourceId": first["ResourceId"]})
    assert (got["Size"], got["LocalPath"], got["ResourceSourceMode"]) == ("9 B", "/datastudio/resource/cli/job.sh",
                                                                          "UPLOAD_MODE")
    f.write_bytes(b"echo two, longer\n")
    out = _cli(server, tmp_path, "resources", "upload", str(f), "--project", p, "--folder", "/cli", "-o", "json")
    second = json.loads(out.stdout)
    assert second["ResourceId"] == first["ResourceId"] and second["Replaced"] is True and second["Size"] == 17
    assert api.data("GetResourceFile", {"ProjectId": p, "ResourceId": first["ResourceId"]})["Size"] == "17 B"
    listed = _cli(server, tmp_path, "resources", "list", "--project", p, "--folder", "/cli")
    assert listed.returncode == 0 and "job.sh" in listed.stdout
    # A folder that does not exist: a clear error, nothing registered.
    bad = _cli(server, tmp_path, "resources", "upload", str(f), "--project", p, "--folder", "/nope")
    assert bad.returncode != 0 and "ResourceNotFound" in bad.stderr and "/nope" in bad.stderr
    assert api.data("ListResourceFiles", {"ProjectId": p})["TotalCount"] == 1
