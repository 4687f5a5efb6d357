"""A small signed client of the WeData API: TC3-HMAC-SHA256 over a JSON POST, as the SDK sends it.

The signature is computed by ``wedata.protocol.signing`` (``tc3_signature`` and
``format_tc3_authorization``), the functions the server verifies with, so the client and the
server cannot drift apart. Only the standard library is used (``http.client``): the official SDK
and tccli are test extras, not runtime dependencies. Proxies are not used (the server is usually
on localhost; the SDK's substring NO_PROXY check is a known trap).

Failures become :class:`ApiError` (the server answered an error: ``Code: Message``) or
:class:`CliError` (no answer: connection refused, timeout, not a WeData server), each one line.
``RequestLimitExceeded`` is retried a few times with a short backoff.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import ssl
import time
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from wedata.cli.errors import CliError

VERSION = "2025-08-06"
REGION = "ap-guangzhou"

# Hints added to some error codes: what the user can do about them.
_HINTS = {
    "AuthFailure.SecretIdNotFound": "check the SecretId: `wedata login` again, or the WEDATA_SECRET_ID variable",
    "AuthFailure.SignatureFailure": "check the SecretKey: `wedata login` again, or the WEDATA_SECRET_KEY variable",
    "AuthFailure.SignatureExpire": "this machine's clock is more than 5 minutes away from the server's",
    "AuthFailure.TokenFailure": "this credential needs its token (WEDATA_TOKEN or `wedata login --token`)",
}


class ApiError(CliError):
    """The server answered ``{"Error": {"Code", "Message"}}``."""

    def __init__(self, code: str, message: str, request_id: str | None = None) -> None:
        self.code = code
        self.error_message = message
        self.request_id = request_id
        hint = _HINTS.get(code)
        super().__init__(f"{code}: {message}" + (f" ({hint})" if hint else ""))


class Client:
    def __init__(self, endpoint: str, secret_id: str, secret_key: str, token: str | None = None,
                 *, timeout: float = 30.0, version: str = VERSION, region: str = REGION) -> None:
        parts = urlsplit(endpoint)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise CliError(f"the endpoint {endpoint!r} is not an http(s)://HOST[:PORT] URL")
        self.endpoint = endpoint
        self.scheme = parts.scheme
        self.host = parts.netloc.lower()  # the Host header, signed as sent
        self.hostname = parts.hostname
        self.port = parts.port
        self.secret_id = secret_id
        self.secret_key = secret_key
        self.token = token
        self.timeout = timeout
        self.version = version
        self.region = region

    # ------------------------------------------------------------------------------------------

    def signed_headers(self, action: str, body: bytes, now: float | None = None) -> dict[str, str]:
        from wedata.protocol.signing import format_tc3_authorization, tc3_signature

        timestamp = int(time.time() if now is None else now)
        date = datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d")
        headers = {"content-type": "application/json", "host": self.host}
        signed = sorted(headers)
        signature = tc3_signature(
            secret_key=self.secret_key, method="POST", query="", headers=headers, signed_headers=signed,
            payload_hash=hashlib.sha256(body).hexdigest(), timestamp=str(timestamp), date=date,
            lower_values=False,
        )
        out = {
            "Content-Type": headers["content-type"],
            "Host": self.host,
            "X-TC-Action": action,
            "X-TC-Version": self.version,
            "X-TC-Timestamp": str(timestamp),
            "X-TC-Region": self.region,
            "X-TC-RequestClient": "wedata-cli",
            "Authorization": format_tc3_authorization(self.secret_id, date, signed, signature),
        }
        if self.token:
            out["X-TC-Token"] = self.token
        return out

    def call(self, action: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        """The ``Response`` object of a successful call (without ``RequestId``), or ApiError."""
        body = json.dumps(params or {}, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        delay = 0.2
        for attempt in range(6):
            response = self._post(action, body)
            error = response.get("Error")
            if error is None:
                response.pop("RequestId", None)
                return response
            code = str(error.get("Code", "InternalError"))
            if code == "RequestLimitExceeded" and attempt < 5:
                time.sleep(delay)
                delay *= 2
                continue
            raise ApiError(code, str(error.get("Message", "")), response.get("RequestId"))
        raise AssertionError("unreachable")

    def data(self, action: str, params: dict[str, Any] | None = None) -> Any:
        return self.call(action, params).get("Data")

    def upload(self, path: str, query: dict[str, str], sha256: str, size: int) -> dict[str, Any]:
        """POST the file at ``path`` to /resources/upload (actions/resources/upload.py), signed
        with TC3 over its sha256 and with ``X-TC-Action: UploadResource``; streamed, not read
        into memory. Returns the answer's ``Data``."""
        from urllib.parse import urlencode

        from wedata.protocol.signing import format_tc3_authorization, tc3_signature

        raw_query = urlencode(query)
        timestamp = int(time.time())
        date = datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d")
        signed = {"content-type": "application/octet-stream", "host": self.host, "x-tc-action": "UploadResource"}
        signature = tc3_signature(
            secret_key=self.secret_key, method="POST", query=raw_query, headers=signed, signed_headers=sorted(signed),
            payload_hash=sha256, timestamp=str(timestamp), date=date, lower_values=False,
        )
        headers = {"Content-Type": signed["content-type"], "Host": self.host, "X-TC-Action": "UploadResource",
                   "X-TC-Timestamp": str(timestamp), "Content-Length": str(size),
                   "Authorization": format_tc3_authorization(self.secret_id, date, sorted(signed), signature)}
        if self.token:
            headers["X-TC-Token"] = self.token
        conn = self._connection()
        try:
            with open(path, "rb") as f:
                conn.request("POST", "/resources/upload?" + raw_query, body=f, headers=headers)
                resp = conn.getresponse()
                raw = resp.read()
        except OSError as exc:
            raise CliError(f"cannot upload to the wedata server at {self.endpoint}: {exc.strerror or exc}") from None
        finally:
            conn.close()
        try:
            response = json.loads(raw)["Response"]
        except (ValueError, KeyError, TypeError):
            raise CliError(f"{self.endpoint} did not answer the upload like a wedata server") from None
        error = response.get("Error")
        if error is not None:
            raise ApiError(str(error.get("Code")), str(error.get("Message", "")), response.get("RequestId"))
        return dict(response.get("Data") or {})

    # ------------------------------------------------------------------------------------------

    def _connection(self) -> http.client.HTTPConnection:
        if self.scheme == "https":
            return http.client.HTTPSConnection(self.hostname, self.port, timeout=self.timeout,
                                               context=ssl.create_default_context())
        return http.client.HTTPConnection(self.hostname, self.port, timeout=self.timeout)

    def _post(self, action: str, body: bytes) -> dict[str, Any]:
        conn = self._connection()
        try:
            conn.request("POST", "/", body=body, headers=self.signed_headers(action, body))
            resp = conn.getresponse()
            raw = resp.read()
            status = resp.status
        except TimeoutError:
            raise CliError(f"the wedata server at {self.endpoint} did not answer within {self.timeout:g} s") from None
        except (OSError, http.client.HTTPException) as exc:
            reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
            raise CliError(f"cannot reach the wedata server at {self.endpoint}: {reason} "
                           "(is `wedata server` running there? change it with `wedata login --endpoint`)") from None
        finally:
            conn.close()
        try:
            envelope = json.loads(raw)
            response = envelope["Response"]
            if not isinstance(response, dict):
                raise TypeError
        except (ValueError, KeyError, TypeError):
            raise CliError(f"{self.endpoint} did not answer like a wedata server (HTTP {status}, "
                           f"{len(raw)} bytes that are not a Tencent Cloud API response)") from None
        return response
