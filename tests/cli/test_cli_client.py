"""The CLI's client signs with the functions the server verifies with: what it sends verifies,
and a changed body or key does not (no server needed)."""

from __future__ import annotations

import json

import pytest

from wedata.cli.client import Client
from wedata.protocol.errors import ApiError
from wedata.protocol.signing import parse_tc3_authorization, verify_tc3


def _verify(headers: dict[str, str], body: bytes, key: str) -> None:
    lower = {k.lower(): v for k, v in headers.items()}
    auth = parse_tc3_authorization(lower["authorization"])
    verify_tc3(auth=auth, secret_key=key, method="POST", query="", headers=lower, body=body,
               timestamp=int(lower["x-tc-timestamp"]))


def test_a_signed_request_verifies_and_a_tampered_one_does_not() -> None:
    client = Client("http://Example.test:8080", "AKIDX", "KEY", token="tok")
    body = json.dumps({"ProjectId": "1"}).encode()
    headers = client.signed_headers("ListTasks", body, now=1_750_000_000)
    assert headers["Host"] == "example.test:8080" and headers["X-TC-Action"] == "ListTasks"
    assert headers["X-TC-Version"] == "2025-08-06" and headers["X-TC-Token"] == "tok"
    assert headers["Authorization"].startswith("TC3-HMAC-SHA256 Credential=AKIDX/2025-06-15/wedata/tc3_request, ")
    _verify(headers, body, "KEY")
    for wrong_body, wrong_key in ((body + b" ", "KEY"), (body, "OTHER")):
        with pytest.raises(ApiError) as err:
            _verify(headers, wrong_body, wrong_key)
        assert err.value.code == "AuthFailure.SignatureFailure"
