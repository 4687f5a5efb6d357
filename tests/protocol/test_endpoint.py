"""The wire protocol against a live server: signing variants, envelope, errors, limits.

Success paths use the official SDK (sync, async, GET, unsigned payload, v1 HmacSHA1/HmacSHA256)
calling ListTenantRoles, an action that needs no project. Hand-made requests cover what the SDK
cannot send (non-JSON bodies, wrong methods, missing headers).
"""

from __future__ import annotations

import asyncio
import hashlib
import http.client
import json
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from unittest import mock

import pytest
from tencentcloud.common import credential
from tencentcloud.common.common_client import CommonClient
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile

from tests.support import ADMIN_ID, ADMIN_KEY, Api, ServerProcess
from wedata.protocol.signing import tc3_signature


def tc3_headers(
    endpoint: str,
    body: bytes,
    *,
    method: str = "POST",
    action: str = "ListTenantRoles",
    version: str = "2025-08-06",
    content_type: str = "application/json",
    secret_id: str = ADMIN_ID,
    secret_key: str = ADMIN_KEY,
    sign: bool = True,
    timestamp: int | None = None,
) -> dict[str, str]:
    """The headers of a request signed by hand with TC3 (none with ``sign=False``)."""
    ts = int(time.time()) if timestamp is None else timestamp
    date = time.strftime("%Y-%m-%d", time.gmtime(ts))
    headers = {"Content-Type": content_type, "Host": endpoint, "X-TC-Action": action,
               "X-TC-Version": version, "X-TC-Timestamp": str(ts)}  # fmt: skip
    if sign:
        sig = tc3_signature(
            secret_key=secret_key, method=method, query="",
            headers={"content-type": content_type, "host": endpoint}, signed_headers=["content-type", "host"],
            payload_hash=hashlib.sha256(body).hexdigest(), timestamp=str(ts), date=date,
        )  # fmt: skip
        headers["Authorization"] = (
            f"TC3-HMAC-SHA256 Credential={secret_id}/{date}/wedata/tc3_request, "
            f"SignedHeaders=content-type;host, Signature={sig}"
        )
    return headers


def raw_request(
    endpoint: str,
    *,
    method: str = "POST",
    body: bytes = b"{}",
    action: str = "ListTenantRoles",
    version: str = "2025-08-06",
    content_type: str = "application/json",
    secret_id: str = ADMIN_ID,
    secret_key: str = ADMIN_KEY,
    sign: bool = True,
    timestamp: int | None = None,
    extra_headers: dict[str, str] | None = None,
) -> tuple[int, str, dict]:
    """Send one TC3-signed request by hand; return (status, content-type, parsed body)."""
    headers = tc3_headers(endpoint, body, method=method, action=action, version=version, content_type=content_type,
                          secret_id=secret_id, secret_key=secret_key, sign=sign, timestamp=timestamp)
    headers.update(extra_headers or {})
    host, port = endpoint.split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    conn.request(method, "/", body=body if method != "GET" else None, headers=headers)
    resp = conn.getresponse()
    data = resp.read()
    conn.close()
    return resp.status, resp.getheader("Content-Type") or "", json.loads(data)


def error_code(body: dict) -> str | None:
    return body["Response"].get("Error", {}).get("Code")


@pytest.fixture(scope="module")
def srv(sqlite_server: ServerProcess) -> ServerProcess:
    return sqlite_server


@pytest.fixture(scope="module")
def limited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A server with a small body limit and the rate limit on (2 requests/s)."""
    s = ServerProcess(
        Path(tmp_path_factory.mktemp("limited")),
        env={"WEDATA_MAX_BODY_BYTES": "2048", "WEDATA_RATE_LIMIT": "2"},
    ).start()
    yield s
    s.stop()


def roles(api: Api) -> list:
    return api.data("ListTenantRoles")


def test_sdk_post_tc3(srv: ServerProcess) -> None:
    assert roles(srv.admin())


@pytest.mark.parametrize(
    "profile",
    [
        {"unsignedPayload": True},
        {"signMethod": "HmacSHA256"},
        {"signMethod": "HmacSHA1"},
    ],
    ids=["unsigned-payload", "v1-hmacsha256", "v1-hmacsha1"],
)
def test_sdk_signing_variants(srv: ServerProcess, profile: dict) -> None:
    api = Api(srv.endpoint, ADMIN_ID, ADMIN_KEY, profile_kwargs=profile)
    assert roles(api) == roles(srv.admin())


@pytest.mark.parametrize("sign_method", ["TC3-HMAC-SHA256", "HmacSHA256"])
def test_sdk_get_with_query_parameters(srv: ServerProcess, sign_method: str) -> None:
    cred = credential.Credential(ADMIN_ID, ADMIN_KEY)
    http = HttpProfile(protocol="http", endpoint=srv.endpoint, reqMethod="GET")
    client = CommonClient("wedata", "2025-08-06", cred, "ap-guangzhou", ClientProfile(signMethod=sign_method, httpProfile=http))
    resp = client.call_json("ListTenantRoles", {"RoleDisplayName": "管理员"})["Response"]
    assert "Error" not in resp
    assert all("管理员" in r["RoleDisplayName"] for r in resp["Data"])


def test_async_client_posts_to_slash_question_mark(srv: ServerProcess) -> None:
    from tencentcloud.wedata.v20250806 import models
    from tencentcloud.wedata.v20250806.wedata_client_async import WedataClient as AsyncClient

    async def go() -> list:
        cred = credential.Credential(ADMIN_ID, ADMIN_KEY)
        client = AsyncClient(cred, "ap-guangzhou", ClientProfile(httpProfile=HttpProfile(protocol="http", endpoint=srv.endpoint)))
        resp = await client.ListTenantRoles(models.ListTenantRolesRequest())
        return resp.Data

    # In a thread of its own: a loop another test left running in this thread cannot interfere.
    with ThreadPoolExecutor(1) as pool:
        assert pool.submit(asyncio.run, go()).result(timeout=60)


def test_wrong_key_is_a_signature_failure(srv: ServerProcess) -> None:
    err = Api(srv.endpoint, ADMIN_ID, "WRONGKEY").error("ListTenantRoles")
    assert err.code == "AuthFailure.SignatureFailure"
    assert err.requestId


def test_unknown_secret_id(srv: ServerProcess) -> None:
    assert Api(srv.endpoint, "AKIDNOSUCHKEY", "x").error("ListTenantRoles").code == "AuthFailure.SecretIdNotFound"


@pytest.mark.parametrize("skew", [-400, 400])
def test_timestamp_skew_over_300s_is_rejected(srv: ServerProcess, skew: int) -> None:
    with mock.patch("time.time", return_value=time.time() + skew):
        err = srv.admin().error("ListTenantRoles")
    assert err.code == "AuthFailure.SignatureExpire"


def test_timestamp_skew_within_300s_is_accepted(srv: ServerProcess) -> None:
    with mock.patch("time.time", return_value=time.time() - 290):
        assert roles(srv.admin())


def test_token_credentials(srv: ServerProcess) -> None:
    out = srv.cli("credentials", "create", "--uin", "300000000003", "--token", "TOKEN123")
    fields = dict(line.split(":", 1) for line in out.strip().splitlines())
    sid, key = fields["SecretId"].strip(), fields["SecretKey"].strip()
    assert roles(Api(srv.endpoint, sid, key, token="TOKEN123"))
    assert Api(srv.endpoint, sid, key).error("ListTenantRoles").code == "AuthFailure.TokenFailure"
    assert Api(srv.endpoint, sid, key, token="WRONG").error("ListTenantRoles").code == "AuthFailure.TokenFailure"


@pytest.mark.slow  # mostly waiting on real time (tools/ci/run-suite.sh)
def test_deleted_credential_stops_working(srv: ServerProcess) -> None:
    api = srv.new_user()
    assert roles(api)
    srv.cli("credentials", "delete", api.secret_id)
    deadline = time.monotonic() + 10  # the lookup cache holds an answer for up to 5 s
    while time.monotonic() < deadline:
        try:
            roles(api)
        except Exception as exc:  # noqa: BLE001
            assert getattr(exc, "code", None) == "AuthFailure.SecretIdNotFound"
            return
        time.sleep(0.5)
    raise AssertionError("a deleted credential still worked after 10 s")


def test_unknown_action_and_unsupported_action(srv: ServerProcess) -> None:
    api = srv.admin()
    err = api.error("NoSuchAction", raw=True)
    assert err.code == "InvalidAction"
    # Every action of 2025-08-06 has a handler now (docs/api-coverage.md) ...
    from wedata.actions.registry import implemented
    from wedata.spec import OPERATIONS

    assert sorted(set(OPERATIONS) - implemented()) == []
    # ... so an action of the spec that is not served is one of the 2021-08-20 version served on
    # the same endpoint for its events: the answer says so honestly, before reading parameters.
    cred = credential.Credential(ADMIN_ID, ADMIN_KEY)
    v21 = CommonClient("wedata", "2021-08-20", cred, "ap-guangzhou",
                       ClientProfile(httpProfile=HttpProfile(protocol="http", endpoint=srv.endpoint)))
    with pytest.raises(Exception) as exc:
        v21.call_json("DescribeEventConsumeTasks", {})
    assert exc.value.code == "UnsupportedOperation"  # type: ignore[attr-defined]
    assert "DescribeEventConsumeTasks" in str(exc.value)


def test_other_versions_answer_no_such_version(srv: ServerProcess) -> None:
    cred = credential.Credential(ADMIN_ID, ADMIN_KEY)
    client = CommonClient("wedata", "2099-01-01", cred, "ap-guangzhou",
                          ClientProfile(httpProfile=HttpProfile(protocol="http", endpoint=srv.endpoint)))  # fmt: skip
    with pytest.raises(Exception) as exc:
        client.call_json("ListTenantRoles", {})
    assert exc.value.code == "NoSuchVersion"  # type: ignore[attr-defined]


def test_every_answer_is_http_200_with_exact_json_content_type(srv: ServerProcess) -> None:
    cases = [
        raw_request(srv.endpoint),  # success
        raw_request(srv.endpoint, body=b"not json"),
        raw_request(srv.endpoint, sign=False),
        raw_request(srv.endpoint, method="PUT"),
    ]
    for status, ctype, body in cases:
        assert status == 200
        assert ctype == "application/json"
        assert body["Response"]["RequestId"]


def test_bad_bodies(srv: ServerProcess) -> None:
    assert error_code(raw_request(srv.endpoint, body=b"not json")[2]) == "InvalidParameter"
    assert error_code(raw_request(srv.endpoint, body=b"[1, 2]")[2]) == "InvalidParameterValue"
    assert error_code(raw_request(srv.endpoint, body=b'{"Nope": 1}')[2]) == "UnknownParameter"
    assert error_code(raw_request(srv.endpoint, body=b'{"RoleDisplayName": 5}')[2]) == "InvalidParameterValue"


def test_missing_authorization_and_headers(srv: ServerProcess) -> None:
    assert error_code(raw_request(srv.endpoint, sign=False)[2]) == "MissingParameter"
    _, _, body = raw_request(srv.endpoint, extra_headers={"Authorization": "Bearer x"})
    assert error_code(body) == "AuthFailure.InvalidAuthorization"
    assert error_code(raw_request(srv.endpoint, method="PUT")[2]) == "UnsupportedProtocol"


def test_host_with_scheme_as_tccli_sends_it(srv: ServerProcess) -> None:
    # tccli copies `--endpoint http://host:port` into the Host header and signs that value.
    host = f"http://{srv.endpoint}"
    ts = int(time.time())
    date = time.strftime("%Y-%m-%d", time.gmtime(ts))
    body = b"{}"
    sig = tc3_signature(
        secret_key=ADMIN_KEY, method="POST", query="", headers={"content-type": "application/json", "host": host},
        signed_headers=["content-type", "host"], payload_hash=hashlib.sha256(body).hexdigest(),
        timestamp=str(ts), date=date,
    )  # fmt: skip
    h, p = srv.endpoint.split(":")
    conn = http.client.HTTPConnection(h, int(p), timeout=10)
    conn.putrequest("POST", "/", skip_host=True)
    for k, v in {"Host": host, "Content-Type": "application/json", "X-TC-Action": "ListTenantRoles",
                 "X-TC-Version": "2025-08-06", "X-TC-Timestamp": str(ts), "Content-Length": "2",
                 "Authorization": f"TC3-HMAC-SHA256 Credential={ADMIN_ID}/{date}/wedata/tc3_request, "
                                  f"SignedHeaders=content-type;host, Signature={sig}"}.items():  # fmt: skip
        conn.putheader(k, v)
    conn.endheaders(body)
    data = json.loads(conn.getresponse().read())
    assert "Error" not in data["Response"], data


def test_oversized_body_is_refused_before_parsing(limited: ServerProcess) -> None:
    body = b'{"RoleDisplayName": "' + b"x" * 4096 + b'"}'
    assert error_code(raw_request(limited.endpoint, body=body)[2]) == "RequestSizeLimitExceeded"
    # Not even valid JSON: the size check comes first.
    assert error_code(raw_request(limited.endpoint, body=b"{" * 5000)[2]) == "RequestSizeLimitExceeded"


def test_past_its_rate_a_request_is_refused_before_its_body_and_the_connection_still_serves(
        limited: ServerProcess) -> None:
    host, port = limited.endpoint.split(":")
    body = b'{"Padding": "' + b"x" * 1900 + b'"}'  # under the 2,048-byte limit
    time.sleep(1.1)  # a full bucket (2 a second)
    # Requests claiming the admin's SecretId with a wrong signature spend none of its tokens.
    for _ in range(3):
        assert error_code(raw_request(limited.endpoint, secret_key="not-the-key")[2]) == "AuthFailure.SignatureFailure"
    assert all(error_code(raw_request(limited.endpoint)[2]) is None for _ in range(2))
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    conn.connect()
    # The bucket is empty: the answer comes although only 10 bytes of the body were sent.
    conn.putrequest("POST", "/", skip_host=True, skip_accept_encoding=True)
    for k, v in {**tc3_headers(limited.endpoint, body), "Content-Length": str(len(body))}.items():
        conn.putheader(k, v)
    conn.endheaders(body[:10])
    resp = conn.getresponse()
    assert error_code(json.loads(resp.read())) == "RequestLimitExceeded"
    # The rest of that body, then another request on the same connection, once a token is back.
    assert conn.sock is not None
    conn.sock.sendall(body[10:])
    time.sleep(1.1)
    conn.request("POST", "/", body=b"{}", headers=tc3_headers(limited.endpoint, b"{}"))
    answer = json.loads(conn.getresponse().read())
    conn.close()
    assert error_code(answer) is None and answer["Response"]["Data"], answer


def test_rate_limit_per_credential_and_action(limited: ServerProcess) -> None:
    api = limited.admin()
    codes = []
    for _ in range(8):
        try:
            api.call("ListTenantRoles")
            codes.append("ok")
        except Exception as exc:  # noqa: BLE001
            codes.append(getattr(exc, "code", repr(exc)))
    assert "RequestLimitExceeded" in codes
    assert codes[0] == "ok"
    # Another action has its own bucket.
    err_or_ok = api.error("NoSuchAction", raw=True).code
    assert err_or_ok == "InvalidAction"
    time.sleep(1.1)
    assert roles(api)
