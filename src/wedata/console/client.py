"""The console's way to the actions: the same bound routes the wire API serves.

``Actions.call("ListTaskInstances", ProjectId=..., PageSize=20)`` takes the parameters by their
wire names, decodes them into the action's request Struct exactly as a JSON body is decoded
(``protocol.params.decode_json``: the same MissingParameter / UnknownParameter /
InvalidParameterValue answers, the same control-character check), builds a ``RequestContext``
for the signed-in ``Caller`` and calls the route the registry bound (``actions.registry``: the
project membership check, the domain error mapping, then the handler). So a console user can do
exactly what their credential can do through the SDK, no more. The answer is the handler's
response Struct; its ``data`` is what a page renders.

Not applied here: the API's per-credential rate limit and in-flight bound (the console is a
person clicking; each page makes a bounded number of calls).
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from typing import Any

import msgspec

from wedata.principal import Caller
from wedata.protocol import errors as E
from wedata.protocol.context import RequestContext
from wedata.protocol.endpoint import VersionRoutes
from wedata.protocol.errors import ApiError
from wedata.protocol.params import decode_json

log = logging.getLogger("wedata.console")

_encoder = msgspec.json.Encoder()
# The field an error message names: "`Field.Path`" (protocol.params) or "Field must ..."/"Field: ...".
_FIELD_QUOTED = re.compile(r"`([A-Za-z][A-Za-z0-9]*)(?:[.\[][^`]*)?`")
_FIELD_LEADING = re.compile(r"^([A-Z][A-Za-z0-9]+)(?: must| is|:)")


class ActionFailed(Exception):
    """An action answered an error: its Tencent Cloud code, message, and the field it names."""

    def __init__(self, action: str, code: str, message: str) -> None:
        super().__init__(f"{action}: {code}: {message}")
        self.action = action
        self.code = code
        self.message = message
        self.field = error_field(message)

    @property
    def forbidden(self) -> bool:
        return self.code.startswith("UnauthorizedOperation")

    @property
    def not_found(self) -> bool:
        return self.code == "ResourceNotFound"


def error_field(message: str) -> str | None:
    """The top-level request field an error message names (for showing it next to the field)."""
    m = _FIELD_QUOTED.search(message) or _FIELD_LEADING.search(message)
    return m.group(1) if m else None


class Actions:
    """Calls actions as one caller; cheap to build (one per request)."""

    def __init__(self, routes: VersionRoutes, version: str, caller: Caller, language: str = "en-US") -> None:
        self.routes = routes
        self.version = version
        self.caller = caller
        self.language = language

    def call(self, action: str, /, **params: Any) -> Any:
        route = self.routes.routes.get(action)
        if route is None:
            raise ActionFailed(action, E.UNSUPPORTED_OPERATION, f"The action `{action}` is not served here.")
        request_id = str(uuid.uuid4())
        started = time.perf_counter()
        code = "-"
        try:
            body = _encoder.encode({k: v for k, v in params.items() if v is not None})
            request = decode_json(body, route.request_type)
            ctx = RequestContext(action=action, version=self.version, request_id=request_id, caller=self.caller,
                                 language=self.language)
            return route.handler(ctx, request)
        except ApiError as err:
            code = err.code
            raise ActionFailed(action, err.code, err.message) from None
        except Exception:
            code = E.INTERNAL_ERROR
            log.exception("console internal error request_id=%s action=%s", request_id, action)
            raise ActionFailed(action, E.INTERNAL_ERROR,
                               f"Internal error, please retry later (RequestId {request_id}).") from None
        finally:
            if log.isEnabledFor(logging.INFO):
                log.info("console action=%s caller=%s duration_ms=%.2f error=%s request_id=%s", action,
                         self.caller.uin, (time.perf_counter() - started) * 1000, code, request_id)

    def data(self, action: str, /, **params: Any) -> Any:
        """The ``Data`` of the answer (most actions answer one)."""
        return self.call(action, **params).data

    def try_data(self, action: str, /, **params: Any) -> tuple[Any, ActionFailed | None]:
        """``(data, None)`` or ``(None, error)``: for parts of a page that may fail on their own."""
        try:
            return self.data(action, **params), None
        except ActionFailed as err:
            return None, err
