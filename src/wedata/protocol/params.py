"""Request parameters: decode JSON bodies and un-flatten GET/v1 form parameters into Structs.

msgspec's own validation messages are mapped onto Tencent Cloud's codes: a missing required
field is ``MissingParameter``, an undeclared one ``UnknownParameter``, a wrong type or value
``InvalidParameterValue``.

Control characters (decision, issue 15): every string of a request (struct fields, list items,
map keys and values, at any depth) is refused with ``InvalidParameterValue`` naming the field
path (``Task.TaskBaseAttribute.TaskDescription``, ``TaskIds[3]``) when it holds a Unicode control
character (category Cc: U+0000-U+001F, U+007F-U+009F) other than tab, line feed and carriage
return. Those three stay legal everywhere because descriptions, parameter values and SQL carry
them; the code fields (TaskCode, CodeContent, ScriptContent ...) are base64 on the wire, so what a
script contains once decoded is not affected. Names and ids have their own rules in the services.
Cost: JSON cannot carry a raw C0 byte (the decoder refuses it), so a control character can only
arrive as an escape (a backslash) or as a raw DEL/C1 character; bodies without any of those skip
the walk (one C-level regex scan of the body); form/query pairs are scanned as they are.
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


# The characters refused in every request string (see the module docstring).
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
# What a JSON body must contain for a decoded string to hold one: an escape, a raw DEL, or a raw
# C1 character (UTF-8 \xc2\x80-\xc2\x9f). Raw C0 bytes are invalid JSON already.
_C1_UTF8 = re.compile(rb"\xc2[\x80-\x9f]")


def _json_suspect(body: bytes) -> bool:
    """Whether a decoded string of ``body`` may hold a refused character. ``in`` on bytes is a C
    scan: a regex over a 200 kB body (10,000 TaskIds) took 4 ms, ``in`` takes microseconds."""
    if b"\\" in body or b"\x7f" in body:
        return True
    return b"\xc2" in body and _C1_UTF8.search(body) is not None


def _control_error(path: str, text: str) -> ApiError:
    m = _CONTROL.search(text)
    char = f"U+{ord(m.group()):04X}" if m else "?"
    return ApiError(
        E.INVALID_PARAMETER_VALUE,
        f"Invalid value for `{path or 'request'}`: control character {char} is not allowed "
        "(only tab, line feed and carriage return are).",
    )


def _walk(value: Any, path: str) -> None:
    """Raise for the first string under ``value`` holding a refused control character."""
    if isinstance(value, str):
        if _CONTROL.search(value):
            raise _control_error(path, value)
    elif isinstance(value, msgspec.Struct):
        cls = type(value)
        for attr, wire in zip(cls.__struct_fields__, cls.__struct_encode_fields__, strict=True):
            item = getattr(value, attr)
            if item is not None and not isinstance(item, (int, float, bool)):
                _walk(item, f"{path}.{wire}" if path else wire)
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            _walk(item, f"{path}[{i}]")
    elif isinstance(value, dict):
        for key, item in value.items():
            sub = f"{path}.{key}" if path else str(key)
            if isinstance(key, str) and _CONTROL.search(key):
                raise _control_error(sub, key)
            _walk(item, sub)


# A list parameter the services read with one IN (...) or one OR term per item, and that has no
# tighter limit of its own, holds at most this many items (the flat GET/v1 form caps indexes
# at 10,000; SQLite binds at most 32,766 parameters per statement).
MAX_LIST_ITEMS = 1000


def limit_items(values: Any, field: str, maximum: int = MAX_LIST_ITEMS) -> None:
    """InvalidParameterValue when the list ``values`` holds more than ``maximum`` items: called
    by handlers before any lookup that grows with the list."""
    if values is not None and len(values) > maximum:
        raise ApiError(
            E.INVALID_PARAMETER_VALUE, f"Invalid value for `{field}`: at most {maximum} items, got {len(values)}."
        )


def check_strings(request: Any) -> None:
    """Refuse control characters in any string of a decoded request (InvalidParameterValue)."""
    _walk(request, "")


def decode_json(body: bytes, request_type: type[msgspec.Struct]) -> Any:
    if not body.strip():
        body = b"{}"
    try:
        request = msgspec.json.decode(body, type=request_type)
    except msgspec.ValidationError as exc:
        raise validation_error(exc) from None
    except msgspec.DecodeError as exc:
        raise ApiError(E.INVALID_PARAMETER, f"The request body is not valid JSON: {exc}.") from None
    if _json_suspect(body):
        check_strings(request)
    return request


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
    pairs = list(pairs)
    data = _fix_bools(unflatten(pairs))
    try:
        request = msgspec.convert(data, type=request_type, strict=False)
    except msgspec.ValidationError as exc:
        raise validation_error(exc) from None
    if any(_CONTROL.search(k) or _CONTROL.search(v) for k, v in pairs):
        check_strings(request)
    return request
