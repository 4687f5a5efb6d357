"""Request parameters: decode JSON bodies and un-flatten GET/v1 form parameters into Structs.

msgspec's own validation messages are mapped onto Tencent Cloud's codes: a missing required
field is ``MissingParameter``, an undeclared one ``UnknownParameter``, a wrong type or value
``InvalidParameterValue``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

import msgspec

from wedata.protocol import errors as E
from wedata.protocol.errors import ApiError

_MISSING = re.compile(r"Object missing required field `([^`]+)`(?: - at `\$(.*)`)?")
_UNKNOWN = re.compile(r"Object contains unknown field `([^`]+)`(?: - at `\$(.*)`)?")
_AT = re.compile(r" - at `\$\.?(.*)`$")


def _path(prefix: str | None, name: str) -> str:
    prefix = (prefix or "").lstrip(".")
    return f"{prefix}.{name}" if prefix else name


def validation_error(exc: msgspec.ValidationError) -> ApiError:
    text = str(exc)
    m = _MISSING.match(text)
    if m:
        return ApiError(E.MISSING_PARAMETER, f"The parameter `{_path(m.group(2), m.group(1))}` is required.")
    m = _UNKNOWN.match(text)
    if m:
        return ApiError(
            E.UNKNOWN_PARAMETER, f"The parameter `{_path(m.group(2), m.group(1))}` is not defined for this action."
        )
    where = _AT.search(text)
    field = where.group(1) if where else ""
    detail = _AT.sub("", text)
    return ApiError(E.INVALID_PARAMETER_VALUE, f"Invalid value for `{field or 'request'}`: {detail}.")


def decode_json(body: bytes, request_type: type[msgspec.Struct]) -> Any:
    if not body.strip():
        body = b"{}"
    try:
        return msgspec.json.decode(body, type=request_type)
    except msgspec.ValidationError as exc:
        raise validation_error(exc) from None
    except msgspec.DecodeError as exc:
        raise ApiError(E.INVALID_PARAMETER, f"The request body is not valid JSON: {exc}.") from None


def unflatten(pairs: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """``Filters.0.Values.1=x`` -> ``{"Filters": [{"Values": [?, "x"]}]}``."""
    root: dict[str, Any] = {}
    for key, value in pairs:
        parts = key.split(".")
        node: Any = root
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            nxt: Any = value if last else ([] if parts[i + 1].isdigit() else {})
            if isinstance(node, list):
                if not part.isdigit():
                    raise ApiError(E.INVALID_PARAMETER, f"Malformed parameter name `{key}`.")
                idx = int(part)
                if idx > 10_000:
                    raise ApiError(E.INVALID_PARAMETER, f"List index too large in `{key}`.")
                while len(node) <= idx:
                    node.append(None)
                if node[idx] is None or last:
                    node[idx] = nxt
                node = node[idx]
            else:
                if not isinstance(node, dict):
                    raise ApiError(E.INVALID_PARAMETER, f"Malformed parameter name `{key}`.")
                if part not in node or last:
                    node[part] = nxt
                node = node[part]
    return root


def _fix_bools(value: Any) -> Any:
    # The Python SDK flattens True as "True"; msgspec's lax mode only knows "true"/"false".
    if isinstance(value, dict):
        return {k: _fix_bools(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_fix_bools(v) for v in value]
    if value in ("True", "False"):
        return value.lower()
    return value


def convert_flat(pairs: Iterable[tuple[str, str]], request_type: type[msgspec.Struct]) -> Any:
    data = _fix_bools(unflatten(pairs))
    try:
        return msgspec.convert(data, type=request_type, strict=False)
    except msgspec.ValidationError as exc:
        raise validation_error(exc) from None
