"""What a client sends as a script: its text (Base64 or raw), its configuration, its parameters.

- ``CreateSQLScript``/``UpdateSQLScript`` take ``ScriptContent`` in Base64 (WeData: "如有值，则要
  将内容进行base64编码"); text that is not Base64 of UTF-8 is ``InvalidParameterValue``.
- ``RunSQLScript`` takes it raw or in Base64, told apart as WeData documents: text made only of
  the Base64 alphabet, of a length that is a multiple of 4, that decodes to UTF-8, is Base64
  (so ``descTBLS`` must be sent encoded). ``Params`` likewise (JSON or Base64 of JSON).
- A script is at most ``settings.sql_script_max_bytes`` bytes of UTF-8 (default 1 MiB,
  ``WEDATA_SQL_SCRIPT_MAX_BYTES``): below the 10 MiB request limit, so that a larger script is
  refused naming the field rather than as an oversized request. No NUL byte.
- ``SQLScriptConfig``: ``DatasourceId`` an integer (sent as a string or a number),
  ``DatasourceEnv`` ``DEV``/``PROD`` (any case; unset: ``DEV``, which is the source's prod side
  when it has no dev side), ``ComputeResource`` a lake engine name for DLC sources, kept as given
  otherwise, ``ExecutorGroupId`` a resource group id, ``Params`` a JSON object of string values
  (the ``${name}`` variables), ``AdvanceConfig`` kept as given (Base64 JSON in WeData; nothing
  here reads it).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass
from typing import Any

from wedata.services.errors import InvalidValue
from wedata.spec import models as M

_B64 = re.compile(r"[A-Za-z0-9+/]+={0,2}")
MAX_CONFIG_TEXT = 64 * 1024  # Params / AdvanceConfig / ComputeResource text
ENVS = ("DEV", "PROD")


def _check_text(text: str, field: str, max_bytes: int) -> str:
    size = len(text.encode("utf-8"))
    if size > max_bytes:
        raise InvalidValue(
            f"{field}: the script is {size} bytes, more than the limit of {max_bytes} bytes "
            "(WEDATA_SQL_SCRIPT_MAX_BYTES)"
        )
    if "\x00" in text:
        raise InvalidValue(f"{field} must not contain NUL characters")
    return text


def _b64decode(text: str) -> str | None:
    if not text or len(text) % 4 or not _B64.fullmatch(text):
        return None
    try:
        return base64.b64decode(text, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None


def decode_base64(text: str | None, field: str, max_bytes: int) -> str:
    """A Base64 ``ScriptContent`` (Create/Update): the decoded text, checked."""
    if text is None or text == "":
        return ""
    if len(text) > (max_bytes * 4) // 3 + 4:
        _check_text("x" * (max_bytes + 1), field, max_bytes)  # the size message, without decoding
    decoded = _b64decode(text)
    if decoded is None:
        raise InvalidValue(f"{field} must be the script's text in Base64 (UTF-8)")
    return _check_text(decoded, field, max_bytes)


def decode_auto(text: str, field: str, max_bytes: int) -> str:
    """Raw or Base64 (RunSQLScript): Base64 when it looks like it and decodes to UTF-8."""
    if len(text) > (max_bytes * 4) // 3 + 4:
        _check_text("x" * (max_bytes + 1), field, max_bytes)
    decoded = _b64decode(text)
    return _check_text(decoded if decoded is not None else text, field, max_bytes)


def encode(text: str | None) -> str | None:
    return None if text is None else base64.b64encode(text.encode("utf-8")).decode("ascii")


def run_params(text: str | None) -> str | None:
    """RunSQLScript.Params: a JSON object, raw or Base64; kept as the decoded JSON text."""
    if text is None or text == "":
        return None
    decoded = decode_auto(text, "Params", MAX_CONFIG_TEXT)
    try:
        value = json.loads(decoded)
    except ValueError as exc:
        raise InvalidValue(f"Params must be a JSON object (raw or Base64): {type(exc).__name__} at "
                           f"line {getattr(exc, 'lineno', '?')} column {getattr(exc, 'colno', '?')}") from None
    if not isinstance(value, dict):
        raise InvalidValue("Params must be a JSON object, e.g. {\"executorNum\":1}")
    return decoded


@dataclass(frozen=True, slots=True)
class ScriptConfig:
    """A validated SQLScriptConfig; ``wire`` is what is stored and shown."""

    datasource_id: int | None
    env: str  # DEV | PROD
    compute_resource: str | None
    executor_group_id: str | None
    variables: dict[str, str]
    wire: dict[str, Any]


def _opt_text(value: str | None, field: str, limit: int) -> str | None:
    if value is None:
        return None
    if len(value) > limit:
        raise InvalidValue(f"{field} must be at most {limit} characters")
    if any(ord(c) < 32 and c not in "\t\r\n" for c in value):
        raise InvalidValue(f"{field} must not contain control characters")
    return value


def parse_config(config: M.SQLScriptConfig | None, prefix: str = "ScriptConfig") -> ScriptConfig:
    if config is None:
        return ScriptConfig(None, "DEV", None, None, {}, {})
    return _parse(config.datasource_id, config.datasource_env, config.compute_resource, config.executor_group_id,
                  config.params, config.advance_config, prefix)


def config_from_wire(wire: dict[str, Any] | None) -> ScriptConfig:
    """A stored config back (it was validated when saved)."""
    if not wire:
        return ScriptConfig(None, "DEV", None, None, {}, {})
    return _parse(wire.get("DatasourceId"), wire.get("DatasourceEnv"), wire.get("ComputeResource"),
                  wire.get("ExecutorGroupId"), wire.get("Params"), wire.get("AdvanceConfig"), "ScriptConfig")


def _parse(raw_source: int | str | None, raw_env: str | None, raw_compute: str | None, raw_group: str | None,
           raw_params: str | None, raw_advance: str | None, prefix: str) -> ScriptConfig:
    source: int | None = None
    if raw_source is not None and raw_source != "":
        if isinstance(raw_source, bool):
            raise InvalidValue(f"{prefix}.DatasourceId must be a data source's integer Id")
        try:
            source = int(str(raw_source).strip())
        except ValueError:
            raise InvalidValue(f"{prefix}.DatasourceId must be a data source's integer Id, got {raw_source!r}") from None
        if not 1 <= source < 2**63:
            raise InvalidValue(f"{prefix}.DatasourceId must be a data source's Id, got {raw_source!r}")
    env = (raw_env or "DEV").strip().upper()
    if env not in ENVS:
        raise InvalidValue(f"{prefix}.DatasourceEnv must be DEV or PROD, got {raw_env!r}")
    compute = _opt_text(raw_compute, f"{prefix}.ComputeResource", 64)
    group = _opt_text(raw_group, f"{prefix}.ExecutorGroupId", 32)
    if group is not None and not group.strip():
        group = None
    params = _opt_text(raw_params, f"{prefix}.Params", MAX_CONFIG_TEXT)
    variables: dict[str, str] = {}
    if params:
        try:
            value = json.loads(params)
        except ValueError:
            raise InvalidValue(f"{prefix}.Params must be a JSON object of string values, e.g. "
                               "{\"dt\":\"20250101\"}") from None
        if not isinstance(value, dict) or not all(isinstance(v, str | int | float) for v in value.values()):
            raise InvalidValue(f"{prefix}.Params must be a JSON object of string values, e.g. {{\"dt\":\"20250101\"}}")
        variables = {str(k): str(v) for k, v in value.items()}
    advance = _opt_text(raw_advance, f"{prefix}.AdvanceConfig", MAX_CONFIG_TEXT)
    wire = {
        "DatasourceId": None if source is None else str(source),
        "DatasourceEnv": raw_env,
        "ComputeResource": compute,
        "ExecutorGroupId": group,
        "Params": params,
        "AdvanceConfig": advance,
    }
    return ScriptConfig(source, env, compute, group, variables, wire)

