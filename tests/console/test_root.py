"""``/`` stays the API for every API request, and sends a browser's plain GET to the console;
the console's static files are served (no browser needed here)."""

from __future__ import annotations

import json

import httpx
from tencentcloud.common import credential
from tencentcloud.common.common_client import CommonClient
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile

from tests.support import ADMIN_ID, ADMIN_KEY, ServerProcess


def test_a_plain_get_of_the_root_redirects_to_the_console(sqlite_server: ServerProcess) -> None:
    r = httpx.get(f"http://{sqlite_server.endpoint}/", follow_redirects=False)
    assert r.status_code == 302 and r.headers["location"] == "/console/"
    r = httpx.get(f"http://{sqlite_server.endpoint}/console/", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/console/signin")


def test_posts_and_queries_at_the_root_are_still_the_api(sqlite_server: ServerProcess) -> None:
    base = f"http://{sqlite_server.endpoint}/"
    for r in (httpx.post(base, content=b"{}"), httpx.get(base + "?Action=ListProjects"),
              httpx.get(base, headers={"Authorization": "TC3-HMAC-SHA256 nonsense"})):
        assert r.status_code == 200 and r.headers["content-type"] == "application/json"
        assert "Error" in r.json()["Response"]


def test_a_signed_get_and_a_signed_post_reach_the_actions(sqlite_server: ServerProcess) -> None:
    cred = credential.Credential(ADMIN_ID, ADMIN_KEY)
    for method in ("GET", "POST"):
        http = HttpProfile(protocol="http", endpoint=sqlite_server.endpoint, reqMethod=method)
        client = CommonClient("wedata", "2025-08-06", cred, "ap-guangzhou", ClientProfile(httpProfile=http))
        answer = client.call_json("ListProjects", {"PageSize": 10})["Response"]
        assert "Data" in answer and answer["RequestId"], json.dumps(answer)


def test_static_files_and_their_licences_are_served(sqlite_server: ServerProcess) -> None:
    base = f"http://{sqlite_server.endpoint}/console/static"
    for path, kind in (("/vendor/htmx.min.js", "javascript"), ("/vendor/dagre.min.js", "javascript"),
                       ("/console.css", "text/css"), ("/vendor/htmx.LICENSE.txt", "text/plain")):
        r = httpx.get(base + path)
        assert r.status_code == 200 and kind in r.headers["content-type"], path
    assert httpx.get(base + "/../templates/base.html").status_code == 404


def test_pages_carry_the_security_headers(sqlite_server: ServerProcess) -> None:
    r = httpx.get(f"http://{sqlite_server.endpoint}/console/signin")
    assert r.status_code == 200
    assert "script-src 'self'" in r.headers["content-security-policy"]
    assert r.headers["x-frame-options"] == "DENY" and r.headers["cache-control"] == "no-store"
