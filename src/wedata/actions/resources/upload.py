"""POST /resources/upload: the bytes of a resource file, for the CLI (`wedata resources upload`)
and the console.

The request is signed like an API call (TC3-HMAC-SHA256; ``wedata.cli.client.Client.upload``)
with ``X-TC-Action: UploadResource`` among the signed headers, so a signature made for an upload
is good for nothing else. The query carries ``ProjectId``, ``FolderPath``, ``Name`` and
``Sha256`` (the client's hash of the file); the body is the file. The credential and the
timestamp are checked before the body is read; the body is streamed to a temporary file while
it is hashed (at most ``WEDATA_RESOURCE_MAX_BYTES``), then the signature is verified over that
hash and the hash compared with ``Sha256``: a mismatch stores nothing. The answer is the API's
envelope: ``Data`` {RemotePath, BucketName, CosRegion, Size, Sha256}, ready for
CreateResourceFile (``ResourceFile`` = RemotePath). Who may upload is decided by the actions' one
authorization check (services/permissions/authorize.py): the write (develop) permission in the
project, as CreateResourceFile needs; a Visitor or an OperationEngineer is refused before a byte
is read.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from wedata.actions.registry import to_api_error
from wedata.principal import Caller
from wedata.protocol import errors as E
from wedata.protocol.endpoint import CredentialLookup
from wedata.protocol.errors import ApiError
from wedata.protocol.signing import check_timestamp, parse_form, parse_tc3_authorization, verify_tc3
from wedata.services.errors import ServiceError
from wedata.services.projects.needs import need_of

if TYPE_CHECKING:
    from wedata.services.container import Services

log = logging.getLogger("wedata.api")

ACTION = "UploadResource"
PATH = "/resources/upload"
NEED = need_of(ACTION)  # write (develop), like CreateResourceFile


def _answer(request_id: str, data: dict[str, Any] | None = None, error: ApiError | None = None) -> Response:
    body: dict[str, Any] = {"RequestId": request_id}
    if error is not None:
        body["Error"] = {"Code": error.code, "Message": error.message}
    else:
        body["Data"] = data
    return Response(json.dumps({"Response": body}, ensure_ascii=False).encode(), media_type="application/json")


def upload_route(services: Services, credentials: CredentialLookup, max_clock_skew: int) -> Route:
    cache = services.resource_files.stores.cache
    limit = services.resource_files.stores.max_bytes

    async def receive_file(request: Request, path: str) -> tuple[str, int]:
        h = hashlib.sha256()
        size = 0
        with open(path, "wb") as out:
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    raise ApiError(E.INVALID_PARAMETER_VALUE, f"The file is over the limit of {limit} bytes "
                                                              "(WEDATA_RESOURCE_MAX_BYTES).")
                h.update(chunk)
                out.write(chunk)
        return h.hexdigest(), size

    async def upload(request: Request) -> Response:
        request_id = str(uuid.uuid4())
        tmp: str | None = None
        try:
            headers = {k.lower(): v for k, v in request.headers.items()}
            authorization = headers.get("authorization")
            if not authorization:
                raise ApiError(E.MISSING_PARAMETER, "The upload carries no Authorization header.")
            auth = parse_tc3_authorization(authorization)
            if headers.get("x-tc-action") != ACTION or "x-tc-action" not in auth.signed_headers:
                raise ApiError(E.AUTH_INVALID_AUTHORIZATION, f"An upload is signed with X-TC-Action: {ACTION} among "
                                                             "the SignedHeaders.")
            ts = check_timestamp(headers.get("x-tc-timestamp") or "", max_clock_skew)
            cred = credentials.lookup(auth.secret_id)
            if cred is None:
                raise ApiError(E.AUTH_SECRET_ID_NOT_FOUND, "The SecretId is not found.")
            if cred.token and headers.get("x-tc-token") != cred.token:
                raise ApiError(E.AUTH_TOKEN_FAILURE, "The token is missing or does not match this SecretId.")
            raw_query = request.scope.get("query_string", b"").decode("latin-1")
            params = dict(parse_form(raw_query))
            for name in ("ProjectId", "FolderPath", "Name", "Sha256"):
                if not params.get(name):
                    raise ApiError(E.MISSING_PARAMETER, f"The query parameter {name} is missing.")
            declared = headers.get("content-length")
            if declared is None or not declared.isdigit():
                raise ApiError(E.MISSING_PARAMETER, "An upload needs a Content-Length.")
            if int(declared) > limit:
                raise ApiError(E.INVALID_PARAMETER_VALUE, f"The file is {declared} bytes, over the limit of {limit} "
                                                          "bytes (WEDATA_RESOURCE_MAX_BYTES).")
            caller = Caller(cred.secret_id, cred.uin, cred.is_admin)
            try:  # the actions' own check: uploading bytes is a write (develop) in the project
                await run_in_threadpool(services.authorizer.check, ACTION, NEED, params["ProjectId"], caller,
                                        None, {})
            except ServiceError as err:
                raise to_api_error(err) from None
            cache.root.mkdir(parents=True, exist_ok=True)
            tmp = str(cache.root / f".upload-{request_id}")
            sha256, size = await receive_file(request, tmp)
            verify_tc3(auth=auth, secret_key=cred.secret_key, method="POST", query=raw_query, headers=headers,
                       body=b"", timestamp=ts, payload_hash=sha256)
            if params["Sha256"].lower() != sha256:
                raise ApiError(E.INVALID_PARAMETER_VALUE, f"Sha256 does not match the bytes received (received "
                                                          f"{size} bytes with sha256 {sha256}): nothing was stored.")
            try:
                done = await run_in_threadpool(services.resource_files.upload, caller, params["ProjectId"],
                                               params["FolderPath"], params["Name"], Path(tmp), sha256, size)
            except ServiceError as err:
                raise to_api_error(err) from None
            return _answer(request_id, {"RemotePath": done.remote_path, "BucketName": done.bucket,
                                        "CosRegion": done.region, "Size": done.size, "Sha256": done.sha256})
        except ApiError as err:
            return _answer(request_id, error=err)
        except Exception:
            log.exception("internal error request_id=%s action=%s", request_id, ACTION)
            return _answer(request_id, error=ApiError(E.INTERNAL_ERROR, f"Internal error, please retry later "
                                                                         f"(RequestId {request_id})."))
        finally:
            if tmp is not None and os.path.exists(tmp):
                os.unlink(tmp)

    return Route(PATH, upload, methods=["POST"])
