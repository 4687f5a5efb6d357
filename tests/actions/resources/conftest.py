"""Resource-file tests: a project with a workflow, the signed upload client, and a real
S3-compatible server (moto's standalone server) with a wedata server configured to use it."""

from __future__ import annotations

import hashlib
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.actions.instances.test_instances import Space, new_space
from tests.support import ADMIN_ID, ADMIN_KEY, Api, ServerProcess, free_port
from wedata.cli.client import Client


@dataclass
class Uploader:
    client: Client

    def put(self, project: str, folder: str, name: str, data: bytes, tmp: Path, *,
            sha256: str | None = None) -> dict[str, Any]:
        path = tmp / f"up-{hashlib.sha256(data).hexdigest()}"
        path.write_bytes(data)
        digest = sha256 or hashlib.sha256(data).hexdigest()
        return self.client.upload(str(path), {"ProjectId": project, "FolderPath": folder, "Name": name,
                                              "Sha256": digest}, hashlib.sha256(data).hexdigest(), len(data))


def uploader_for(server: ServerProcess, secret_id: str = ADMIN_ID, secret_key: str = ADMIN_KEY) -> Uploader:
    return Uploader(Client(f"http://{server.endpoint}", secret_id, secret_key))


def register(api: Api, project: str, folder: str, name: str, stored: dict[str, Any]) -> str:
    return str(api.data("CreateResourceFile", {
        "ProjectId": project, "ResourceName": name, "BucketName": stored["BucketName"], "CosRegion": stored["CosRegion"],
        "ParentFolderPath": folder, "ResourceFile": stored["RemotePath"]})["ResourceId"])


@pytest.fixture(scope="module")
def space(api: Api) -> Space:
    return new_space(api)


@pytest.fixture(scope="module")
def uploader(server: ServerProcess) -> Uploader:
    return uploader_for(server)


# ------------------------------------------------------------------------------------------------
# A real S3-compatible server.

BUCKET = "wedata-test-bucket"
REGION = "us-east-1"
S3_LIMIT = 1024 * 1024


def _wait_port(port: int, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("moto_server exited early")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("moto_server did not start")


@pytest.fixture(scope="module")
def moto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    log = open(tmp_path_factory.mktemp("moto") / "moto.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        _wait_port(port, proc)
        endpoint = f"http://127.0.0.1:{port}"
        import boto3

        boto3.client("s3", endpoint_url=endpoint, region_name=REGION, aws_access_key_id="testing",
                     aws_secret_access_key="testing").create_bucket(Bucket=BUCKET)
        yield endpoint
    finally:
        proc.terminate()
        proc.wait(10)
        log.close()


@pytest.fixture(scope="module")
def s3_server(moto: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A wedata server (SQLite) whose object store is the moto bucket, with a 1 MiB file limit."""
    env = {"WEDATA_OBJECT_STORE": "s3", "WEDATA_OBJECT_STORE_BUCKET": BUCKET, "WEDATA_OBJECT_STORE_REGION": REGION,
           "WEDATA_OBJECT_STORE_ENDPOINT": moto, "WEDATA_OBJECT_STORE_ACCESS_KEY": "testing",
           "WEDATA_OBJECT_STORE_SECRET_KEY": "testing", "WEDATA_RESOURCE_MAX_BYTES": str(S3_LIMIT)}
    srv = ServerProcess(tmp_path_factory.mktemp("wedata-s3"), None, env).start()
    yield srv
    srv.stop()


def s3_object(moto: str, key: str) -> bytes | None:
    import boto3

    client = boto3.client("s3", endpoint_url=moto, region_name=REGION, aws_access_key_id="testing",
                          aws_secret_access_key="testing")
    try:
        return bytes(client.get_object(Bucket=BUCKET, Key=key)["Body"].read())
    except client.exceptions.NoSuchKey:
        return None
