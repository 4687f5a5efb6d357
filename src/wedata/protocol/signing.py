"""Signature verification: TC3-HMAC-SHA256 and the legacy v1 HmacSHA1/HmacSHA256 form.

Everything is computed over what was received: the raw body bytes, the raw query string and the
Host value as sent (tccli sends ``Host: http://127.0.0.1:PORT`` and signs exactly that).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import unquote_plus

from wedata.protocol import errors as E
from wedata.protocol.errors import ApiError

SERVICE = "wedata"
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
_EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
_AUTH_RE = re.compile(
    r"^TC3-HMAC-SHA256\s+Credential=(?P<cred>[^,\s]+)\s*,\s*SignedHeaders=(?P<signed>[^,\s]+)\s*,"
    r"\s*Signature=(?P<sig>[0-9a-fA-F]+)\s*$"
)


@dataclass(slots=True)
class Tc3Authorization:
    secret_id: str
    date: str
    service: str
    signed_headers: list[str]
    signature: str


def parse_tc3_authorization(value: str) -> Tc3Authorization:
    m = _AUTH_RE.match(value.strip())
    if not m:
        raise ApiError(E.AUTH_INVALID_AUTHORIZATION, "The Authorization header is not a TC3-HMAC-SHA256 credential.")
    parts = m.group("cred").split("/")
    if len(parts) != 4 or parts[3] != "tc3_request":
        raise ApiError(E.AUTH_INVALID_AUTHORIZATION, "The Credential scope must be SecretId/date/service/tc3_request.")
    signed = m.group("signed").lower().split(";")
    if "content-type" not in signed or "host" not in signed:
        raise ApiError(E.AUTH_INVALID_AUTHORIZATION, "SignedHeaders must include content-type and host.")
    return Tc3Authorization(parts[0], parts[1], parts[2], signed, m.group("sig").lower())


def format_tc3_authorization(secret_id: str, date: str, signed_headers: list[str], signature: str,
                             service: str = SERVICE) -> str:
    """The Authorization header that :func:`parse_tc3_authorization` reads (the CLI's client signs
    with this and :func:`tc3_signature`, the functions the server verifies with)."""
    return (f"TC3-HMAC-SHA256 Credential={secret_id}/{date}/{service}/tc3_request, "
            f"SignedHeaders={';'.join(sorted(signed_headers))}, Signature={signature}")


def _hmac(key: bytes, msg: str) -> bytes:
    return hmac.new(key, msg.encode("utf-8"), hashlib.sha256).digest()


_signing_keys: dict[tuple[str, str], bytes] = {}


def tc3_signing_key(secret_key: str, date: str, service: str = SERVICE) -> bytes:
    """The derived key changes once a day per secret: cache it (three HMACs saved per request)."""
    cache_key = (secret_key, date + "/" + service)
    key = _signing_keys.get(cache_key)
    if key is None:
        k_date = _hmac(("TC3" + secret_key).encode("utf-8"), date)
        key = _hmac(_hmac(k_date, service), "tc3_request")
        if len(_signing_keys) > 4096:
            _signing_keys.clear()
        _signing_keys[cache_key] = key
    return key


def tc3_signature(
    *,
    secret_key: str,
    method: str,
    query: str,
    headers: Mapping[str, str],
    signed_headers: list[str],
    payload_hash: str,
    timestamp: str,
    date: str,
    service: str = SERVICE,
    lower_values: bool = True,
) -> str:
    canonical_headers = "".join(
        f"{h}:{(headers.get(h, '').strip().lower() if lower_values else headers.get(h, '').strip())}\n"
        for h in sorted(signed_headers)
    )
    canonical_request = "\n".join(
        [method, "/", query, canonical_headers, ";".join(sorted(signed_headers)), payload_hash]
    )
    string_to_sign = "\n".join(
        [
            "TC3-HMAC-SHA256",
            timestamp,
            f"{date}/{service}/tc3_request",
            hashlib.sha256(canonical_request.encode("utf-8")).hexdigest(),
        ]
    )
    key = tc3_signing_key(secret_key, date, service)
    return hmac.new(key, string_to_sign.encode("utf-8"), hashlib.sha256).hexdigest()


def check_timestamp(timestamp: str, max_skew: int, now: float | None = None) -> int:
    try:
        ts = int(timestamp)
    except ValueError:
        raise ApiError(E.INVALID_PARAMETER, "X-TC-Timestamp must be an integer number of seconds.") from None
    if max_skew > 0 and abs((now if now is not None else time.time()) - ts) > max_skew:
        raise ApiError(E.AUTH_SIGNATURE_EXPIRE, "The signature is expired, please request again.")
    return ts


def verify_tc3(
    *,
    auth: Tc3Authorization,
    secret_key: str,
    method: str,
    query: str,
    headers: Mapping[str, str],
    body: bytes,
    timestamp: int,
    payload_hash: str | None = None,
) -> None:
    """``payload_hash``: the body's sha256 when the caller hashed it while streaming it (the
    resource upload route), instead of ``body``."""
    expected_date = datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d")
    if auth.date != expected_date or auth.service != SERVICE:
        raise ApiError(E.AUTH_SIGNATURE_FAILURE, "The credential scope date or service does not match the request.")
    if payload_hash is not None:
        pass
    elif headers.get("x-tc-content-sha256", "") == UNSIGNED_PAYLOAD:
        payload_hash = hashlib.sha256(UNSIGNED_PAYLOAD.encode()).hexdigest()
    elif body:
        payload_hash = hashlib.sha256(body).hexdigest()
    else:
        payload_hash = _EMPTY_SHA256
    common = {
        "secret_key": secret_key,
        "method": method,
        "query": query,
        "headers": headers,
        "signed_headers": auth.signed_headers,
        "payload_hash": payload_hash,
        "timestamp": str(timestamp),
        "date": auth.date,
    }
    # Tencent's doc lower-cases header values; the Python SDK signs them raw. Accept both: raw
    # first (the SDKs), lower-cased only when that changes a signed value.
    if hmac.compare_digest(tc3_signature(**common, lower_values=False), auth.signature):  # type: ignore[arg-type]
        return
    values = [headers.get(h, "").strip() for h in auth.signed_headers]
    if any(v != v.lower() for v in values) and hmac.compare_digest(
        tc3_signature(**common, lower_values=True), auth.signature  # type: ignore[arg-type]
    ):
        return
    raise ApiError(
        E.AUTH_SIGNATURE_FAILURE,
        "The provided credentials could not be validated. Please check your signature is correct.",
    )


def parse_form(raw: str) -> list[tuple[str, str]]:
    """Split an urlencoded string keeping order and blank values (parse_qsl would drop them)."""
    pairs = []
    for part in raw.split("&"):
        if not part:
            continue
        k, _, v = part.partition("=")
        pairs.append((unquote_plus(k), unquote_plus(v)))
    return pairs


def verify_v1(*, params: Mapping[str, str], secret_key: str, method: str, host: str) -> None:
    method_name = params.get("SignatureMethod", "HmacSHA1")
    digest = {"HmacSHA1": hashlib.sha1, "HmacSHA256": hashlib.sha256}.get(method_name)
    if digest is None:
        raise ApiError(E.AUTH_SIGNATURE_FAILURE, f"Unsupported SignatureMethod {method_name!r}.")
    # The SDK replaces '_' by '.' in keys before sorting; values are signed raw (not url-encoded).
    items = sorted((k.replace("_", "."), v) for k, v in params.items() if k != "Signature")
    to_sign = method + host + "/?" + "&".join(f"{k}={v}" for k, v in items)
    expected = base64.b64encode(hmac.new(secret_key.encode(), to_sign.encode(), digest).digest()).decode()
    if not hmac.compare_digest(expected, params.get("Signature", "")):
        raise ApiError(
            E.AUTH_SIGNATURE_FAILURE,
            "The provided credentials could not be validated. Please check your signature is correct.",
        )
