"""Signature computation against the vectors the official SDK produced (tc3-protocol.md §2)."""

from __future__ import annotations

import hashlib

import pytest

from wedata.protocol.errors import ApiError
from wedata.protocol.params import unflatten
from wedata.protocol.signing import parse_form, parse_tc3_authorization, tc3_signature, verify_v1

KEY = "FAKESECRETKEY000000000"


def test_tc3_post_vector() -> None:
    body = b'{"ProjectId": "1", "TaskId": "2"}'
    sig = tc3_signature(
        secret_key=KEY, method="POST", query="",
        headers={"content-type": "application/json", "host": "127.0.0.1:8080"},
        signed_headers=["content-type", "host"], payload_hash=hashlib.sha256(body).hexdigest(),
        timestamp="1700000000", date="2023-11-14",
    )  # fmt: skip
    assert sig == "4769718179874321d090211434a91b46c873ac0dc38bd312fe5798eddf7f7ea1"


def test_tc3_get_vector() -> None:
    sig = tc3_signature(
        secret_key=KEY, method="GET", query="ProjectId=1&TaskId=2",
        headers={"content-type": "application/x-www-form-urlencoded", "host": "127.0.0.1:8080"},
        signed_headers=["content-type", "host"], payload_hash=hashlib.sha256(b"").hexdigest(),
        timestamp="1700000000", date="2023-11-14",
    )  # fmt: skip
    assert sig == "911e61f938f4606ee362df62702c03d696c0f4ab8685fa6917e931d750dc787e"


def test_v1_vector() -> None:
    form = (
        "ProjectId=1&TaskId=2&Action=GetTask&RequestClient=SDK_PYTHON_3.1.195&Nonce=12345&Timestamp=1700000000"
        "&Version=2025-08-06&Region=ap-guangzhou&SecretId=AKIDFAKEID0000000000&SignatureMethod=HmacSHA256"
        "&Language=zh-CN&Signature=Z15qEYDvOWU4JkXMOVpOLS10KDJZcdpl%2Ba5cfRvznnE%3D"
    )
    params = dict(parse_form(form))
    verify_v1(params=params, secret_key=KEY, method="POST", host="127.0.0.1:8080")
    params["TaskId"] = "3"
    with pytest.raises(ApiError) as exc:
        verify_v1(params=params, secret_key=KEY, method="POST", host="127.0.0.1:8080")
    assert exc.value.code == "AuthFailure.SignatureFailure"


@pytest.mark.parametrize(
    "header",
    [
        "Basic abc",
        "TC3-HMAC-SHA256 Credential=AKID/2023-11-14/wedata, SignedHeaders=content-type;host, Signature=ab",
        "TC3-HMAC-SHA256 Credential=AKID/2023-11-14/wedata/tc3_request, SignedHeaders=host, Signature=ab",
    ],
)
def test_malformed_authorization(header: str) -> None:
    with pytest.raises(ApiError) as exc:
        parse_tc3_authorization(header)
    assert exc.value.code == "AuthFailure.InvalidAuthorization"


def test_unflatten_nested_lists_and_objects() -> None:
    pairs = [("A", "1"), ("F.0.Name", "n"), ("F.0.Values.0", "x"), ("F.0.Values.1", "y"), ("F.1.Name", "m")]
    assert unflatten(pairs) == {"A": "1", "F": [{"Name": "n", "Values": ["x", "y"]}, {"Name": "m"}]}


def test_parse_form_keeps_blank_values_and_decodes() -> None:
    assert parse_form("a=&b=a+b%26c%3D%C3%BC") == [("a", ""), ("b", "a b&c=ü")]
