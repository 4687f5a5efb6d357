"""The API endpoint: ``POST /`` (JSON, TC3 or v1 form) and ``GET /`` (query), as a raw ASGI app.

Raw ASGI rather than Starlette's Request: one endpoint needs no router, and skipping the request
object keeps a GetTask round trip cheap. Every answer is HTTP 200 with ``Content-Type:
application/json`` exactly, and carries a RequestId, errors included (the SDK only parses error
envelopes under that exact header).

Threads (issue 15: no client can slow the others). The event loop reads the body, checks the
signature, the rate limit and the credential's in-flight bound: cheap work (a GetTask spends
~30 us here) that must happen before anything is queued. Decoding, validation, the synchronous
handler and the encoding of the answer then run in a bounded thread pool
(``EndpointConfig.api_threads``, ``WEDATA_API_THREADS``), so one slow request no longer stalls
every other client; ``api_threads`` 0 keeps everything on the loop (the old behaviour, kept for
measurements). Handlers must therefore be thread-safe: services hold no per-request state,
SQLite writes are serialised by ``storage.db.Database.write``.

With ``EndpointConfig.write_threads`` set (``WEDATA_API_WRITE_THREADS``, meant for SQLite),
actions that write run in a pool of their own and the first pool serves only the reads
(``Route.writes`` False). SQLite's writers queue on one lock, which another process (the
engine's) may hold for a while. In one shared pool, a few queued writers can hold every thread,
and the reads then wait behind them, though a read never needs that lock. It is not the default:
when the writes are saturated it moves their whole wait onto the writers (docs/protocol.md).
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol

import msgspec

from wedata.principal import Caller, Credential
from wedata.protocol import errors as E
from wedata.protocol.context import RequestContext
from wedata.protocol.errors import ApiError
from wedata.protocol.params import convert_flat, decode_json
from wedata.protocol.ratelimit import RateLimiter
from wedata.protocol.signing import (
    check_timestamp,
    parse_form,
    parse_tc3_authorization,
    verify_tc3,
    verify_v1,
)

log = logging.getLogger("wedata.api")

Handler = Callable[[RequestContext, Any], Any]


class CredentialLookup(Protocol):
    def lookup(self, secret_id: str) -> Credential | None: ...


@dataclass(frozen=True, slots=True)
class Route:
    request_type: type[msgspec.Struct]
    handler: Handler
    writes: bool = True  # False: the action only reads (served by the readers' pool)


@dataclass
class VersionRoutes:
    """The actions one API version defines (``known``) and those implemented (``routes``)."""

    known: frozenset[str]
    routes: dict[str, Route] = field(default_factory=dict)
    # Called for an action the version defines but we do not implement: builds the error.
    unsupported: Callable[[str], ApiError] = field(
        default=lambda a: ApiError(E.UNSUPPORTED_OPERATION, f"The action `{a}` is not supported by this server yet.")
    )


@dataclass
class EndpointConfig:
    max_body_bytes: int = 10 * 1024 * 1024
    max_clock_skew: int = 300
    rate_limiter: RateLimiter = field(default_factory=lambda: RateLimiter(20, max_inflight=16))
    # Threads running decode + handler + encode; 0 runs them on the event loop thread.
    api_threads: int = 4
    # > 0: the writing actions get a pool of this many threads of their own, and ``api_threads``
    # serve the reads only. 0: one pool for every action.
    write_threads: int = 0


_JSON_HEADERS = [(b"content-type", b"application/json")]
_encoder = msgspec.json.Encoder()


class _Envelope(msgspec.Struct):
    Response: Any


class _ErrorBody(msgspec.Struct):
    Code: str
    Message: str


class _ErrorResponse(msgspec.Struct):
    Error: _ErrorBody
    RequestId: str


class ApiEndpoint:
    def __init__(
        self,
        versions: Mapping[str, VersionRoutes],
        credentials: CredentialLookup,
        config: EndpointConfig,
    ) -> None:
        self.versions = versions
        self.credentials = credentials
        self.config = config
        self._pool: ThreadPoolExecutor | None = None
        self._write_pool: ThreadPoolExecutor | None = None

    def _executor(self, route: Route) -> ThreadPoolExecutor | None:
        config = self.config
        if config.api_threads <= 0:
            return None
        if route.writes and config.write_threads > 0:
            if self._write_pool is None:
                self._write_pool = ThreadPoolExecutor(config.write_threads, thread_name_prefix="wedata-api-write")
            return self._write_pool
        if self._pool is None:
            self._pool = ThreadPoolExecutor(config.api_threads, thread_name_prefix="wedata-api")
        return self._pool

    def close(self) -> None:
        """Stop the handler threads (after the server stopped taking requests)."""
        pools = (self._pool, self._write_pool)
        self._pool = self._write_pool = None
        for pool in pools:
            if pool is not None:
                pool.shutdown(wait=True, cancel_futures=True)

    def _serve(self, route: Route, ctx: RequestContext, decode: Callable[[], Any]) -> bytes:
        request = decode()
        result = route.handler(ctx, request)
        result.request_id = ctx.request_id
        return _encoder.encode(_Envelope(result))

    async def _run(self, route: Route, ctx: RequestContext, decode: Callable[[], Any]) -> bytes:
        limiter = self.config.rate_limiter
        secret_id = ctx.caller.secret_id
        if not limiter.enter(secret_id):
            raise ApiError(
                E.REQUEST_LIMIT_EXCEEDED,
                f"Too many concurrent requests with this SecretId: at most {limiter.max_inflight} may be "
                "in flight at once; wait for an answer before sending more.",
            )
        pool = self._executor(route)
        if pool is None:
            try:
                return self._serve(route, ctx, decode)
            finally:
                limiter.leave(secret_id)
        try:
            future = pool.submit(self._serve, route, ctx, decode)
        except BaseException:
            limiter.leave(secret_id)
            raise
        # Released when the work ends, even if this coroutine is cancelled before then.
        future.add_done_callback(lambda _f: limiter.leave(secret_id))
        return await asyncio.wrap_future(future)

    async def __call__(self, scope: dict, receive: Callable[[], Awaitable[dict]], send: Callable) -> None:
        started = time.perf_counter()
        request_id = str(uuid.uuid4())
        action = "-"
        caller = "-"
        code = ""
        try:
            method = scope["method"]
            if method not in ("GET", "POST"):
                raise ApiError(E.UNSUPPORTED_PROTOCOL, "Only GET and POST are supported.")
            headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
            action = headers.get("x-tc-action", "-")
            self._refuse_exhausted(headers, action)
            body = await self._read_body(headers, receive)
            ctx, route, decode = self._authenticate(method, scope, headers, body, request_id)
            action, caller = ctx.action, ctx.caller.uin
            payload = await self._run(route, ctx, decode)
        except ApiError as err:
            code = err.code
            payload = _encoder.encode(_Envelope(_ErrorResponse(_ErrorBody(err.code, err.message), request_id)))
        except Exception:
            code = E.INTERNAL_ERROR
            log.exception("internal error request_id=%s action=%s", request_id, action)
            payload = _encoder.encode(
                _Envelope(
                    _ErrorResponse(
                        _ErrorBody(E.INTERNAL_ERROR, f"Internal error, please retry later (RequestId {request_id})."),
                        request_id,
                    )
                )
            )
        await send({"type": "http.response.start", "status": 200, "headers": _JSON_HEADERS})
        await send({"type": "http.response.body", "body": payload})
        if log.isEnabledFor(logging.INFO):
            log.info(
                "action=%s caller=%s duration_ms=%.2f error=%s request_id=%s",
                action,
                caller,
                (time.perf_counter() - started) * 1000,
                code or "-",
                request_id,
            )

    def _refuse_exhausted(self, headers: Mapping[str, str], action: str) -> None:
        """A TC3 request whose claimed SecretId has no token left for its action is refused before
        its body is read, hashed and verified: a client flooding large requests past its rate
        costs the event loop a header parse each, not its bodies (tools/bench/mixed.py, flood).
        Only a peek at the bucket: a request signed with someone else's SecretId spends nothing
        of theirs, and one that passes here is still counted after its signature is checked."""
        authorization = headers.get("authorization")
        if not authorization:
            return
        try:
            secret_id = parse_tc3_authorization(authorization).secret_id
        except ApiError:
            return  # malformed: refused in its turn, after the body's size (the order of checks)
        if self.config.rate_limiter.exhausted(secret_id, action):
            raise self._rate_error(action)

    def _rate_error(self, action: str) -> ApiError:
        return ApiError(
            E.REQUEST_LIMIT_EXCEEDED,
            f"Too many requests for `{action}` with this SecretId; the limit is "
            f"{self.config.rate_limiter.rate:g} requests per second.",
        )

    async def _read_body(self, headers: Mapping[str, str], receive: Callable[[], Awaitable[dict]]) -> bytes:
        limit = self.config.max_body_bytes
        declared = headers.get("content-length")
        too_big = ApiError(
            E.REQUEST_SIZE_LIMIT_EXCEEDED, f"The request body exceeds the limit of {limit} bytes."
        )
        if declared and declared.isdigit() and int(declared) > limit:
            raise too_big
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise too_big
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks)

    def _authenticate(
        self, method: str, scope: dict, headers: dict[str, str], body: bytes, request_id: str
    ) -> tuple[RequestContext, Route, Callable[[], Any]]:
        """Check the signature and the rate; returns the context, the route and the (deferred)
        decoding of the parameters into the action's request Struct."""
        raw_query = scope.get("query_string", b"").decode("latin-1")
        authorization = headers.get("authorization")
        content_type = headers.get("content-type", "").split(";")[0].strip().lower()
        if authorization:
            return self._tc3(method, raw_query, headers, body, authorization, content_type, request_id)
        form = raw_query if method == "GET" else body.decode("utf-8", "replace")
        params = dict(parse_form(form))
        if "Signature" in params:
            return self._v1(method, headers, params, request_id)
        raise ApiError(E.MISSING_PARAMETER, "The request carries no Authorization header and no Signature.")

    def _route(self, version: str | None, action: str | None) -> tuple[VersionRoutes, Route]:
        if not action:
            raise ApiError(E.MISSING_PARAMETER, "The action (X-TC-Action) is missing.")
        if not version:
            raise ApiError(E.MISSING_PARAMETER, "The version (X-TC-Version) is missing.")
        routes = self.versions.get(version)
        if routes is None:
            known = ", ".join(sorted(self.versions))
            raise ApiError(E.NO_SUCH_VERSION, f"The API version `{version}` is not served here (served: {known}).")
        route = routes.routes.get(action)
        if route is None:
            if action in routes.known:
                raise routes.unsupported(action)
            raise ApiError(E.INVALID_ACTION, f"The request `Action` {action!r} is invalid or not found.")
        return routes, route

    def _credential(self, secret_id: str, token: str | None) -> Credential:
        cred = self.credentials.lookup(secret_id)
        if cred is None:
            raise ApiError(
                E.AUTH_SECRET_ID_NOT_FOUND, "The SecretId is not found, please ensure that your SecretId is correct."
            )
        if cred.token and token != cred.token:
            raise ApiError(E.AUTH_TOKEN_FAILURE, "The token is missing or does not match this SecretId.")
        return cred

    def _check_rate(self, secret_id: str, action: str) -> None:
        if not self.config.rate_limiter.allow(secret_id, action):
            raise self._rate_error(action)

    def _tc3(
        self,
        method: str,
        raw_query: str,
        headers: dict[str, str],
        body: bytes,
        authorization: str,
        content_type: str,
        request_id: str,
    ) -> tuple[RequestContext, Route, Callable[[], Any]]:
        auth = parse_tc3_authorization(authorization)
        timestamp = headers.get("x-tc-timestamp")
        if not timestamp:
            raise ApiError(E.MISSING_PARAMETER, "The header X-TC-Timestamp is missing.")
        ts = check_timestamp(timestamp, self.config.max_clock_skew)
        cred = self._credential(auth.secret_id, headers.get("x-tc-token"))
        verify_tc3(
            auth=auth,
            secret_key=cred.secret_key,
            method=method,
            query=raw_query,
            headers=headers,
            body=body,
            timestamp=ts,
        )
        action, version = headers.get("x-tc-action"), headers.get("x-tc-version")
        _, route = self._route(version, action)
        assert action is not None and version is not None
        self._check_rate(cred.secret_id, action)
        request_type = route.request_type
        decode: Callable[[], Any]
        if method == "GET":
            decode = lambda: convert_flat(parse_form(raw_query), request_type)  # noqa: E731
        elif content_type == "application/x-www-form-urlencoded":
            decode = lambda: convert_flat(parse_form(body.decode("utf-8", "replace")), request_type)  # noqa: E731
        else:
            decode = lambda: decode_json(body, request_type)  # noqa: E731
        ctx = RequestContext(
            action=action,
            version=version,
            request_id=request_id,
            caller=Caller(cred.secret_id, cred.uin, cred.is_admin),
            region=headers.get("x-tc-region"),
            language=headers.get("x-tc-language", "zh-CN"),
        )
        return ctx, route, decode

    def _v1(
        self, method: str, headers: dict[str, str], params: dict[str, str], request_id: str
    ) -> tuple[RequestContext, Route, Callable[[], Any]]:
        for name in ("SecretId", "Timestamp", "Action", "Version"):
            if not params.get(name):
                raise ApiError(E.MISSING_PARAMETER, f"The common parameter `{name}` is missing.")
        check_timestamp(params["Timestamp"], self.config.max_clock_skew)
        cred = self._credential(params["SecretId"], params.get("Token"))
        verify_v1(params=params, secret_key=cred.secret_key, method=method, host=headers.get("host", ""))
        action, version = params["Action"], params["Version"]
        _, route = self._route(version, action)
        self._check_rate(cred.secret_id, action)
        common = {
            "Action", "Version", "Region", "Timestamp", "Nonce", "SecretId", "SignatureMethod",
            "Signature", "Language", "RequestClient", "Token",
        }  # fmt: skip
        pairs = [(k, v) for k, v in params.items() if k not in common]
        request_type = route.request_type
        ctx = RequestContext(
            action=action,
            version=version,
            request_id=request_id,
            caller=Caller(cred.secret_id, cred.uin, cred.is_admin),
            region=params.get("Region"),
            language=params.get("Language", "zh-CN"),
        )
        return ctx, route, lambda: convert_flat(pairs, request_type)

