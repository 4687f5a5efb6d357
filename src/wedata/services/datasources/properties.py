"""The fields of a data source: its type, names, and the ConProperties JSON with its secrets.

``ProdConProperties``/``DevConProperties`` are JSON objects in a string (WeData's own shape:
``{"deployType": ..., "url": "jdbc:mysql://...", "username": ..., "password": ..., ...}``; the
keys vary by type). Here they are parsed, checked, masked for display and un-masked on update.

Secrets inside them: a key whose name (case-insensitive, ``_``/``-`` ignored) is ``password``
or ends with it, or is one of ``passwd``, ``pwd``, ``secretKey``, ``privateKey``,
``accessKeySecret``, ``token``, ``sessionToken``, ``keyTab``, at any depth, including inside a
string value that itself holds a JSON object (Hive's ``metaParam``). A non-empty secret is shown
as ``MASK`` (``********``, what WeData's own GetDataSource shows); an update that sends ``MASK``
back for a key keeps the stored value of that key.
"""

from __future__ import annotations

import json
import re
from typing import Any

from wedata.services.errors import InvalidValue

MASK = "********"

# Every type WeData 2025-08-06 names (CreateDataSource.Type and ListDataSources.Type), spelled
# as WeData spells them.
SOURCE_TYPES: tuple[str, ...] = (
    "MYSQL", "TENCENT_MYSQL", "POSTGRE", "ORACLE", "SQLSERVER", "FTP", "HIVE", "HUDI", "HDFS", "ICEBERG",
    "KAFKA", "DTS_KAFKA", "HBASE", "SPARK", "VIRTUAL", "TBASE", "DB2", "DM", "GAUSSDB", "GBASE", "IMPALA",
    "ES", "TENCENT_ES", "GREENPLUM", "PHOENIX", "SAP_HANA", "SFTP", "OCEANBASE", "CLICKHOUSE", "KUDU",
    "VERTICA", "REDIS", "COS", "DLC", "DORIS", "CKAFKA", "S3", "S3_DATAINSIGHT", "TDSQL", "TDSQL_MYSQL",
    "MONGODB", "TENCENT_MONGODB", "REST_API", "SuperSQL", "PRESTO", "TiDB", "StarRocks", "Trino", "Kyuubi",
    "TCHOUSE_X", "TCHOUSE_P", "TCHOUSE_C", "TCHOUSE_D", "INFLUXDB", "BIG_QUERY", "SSH", "BLOB",
    "TDSQL_POSTGRE", "GDB", "TDENGINE", "TDSQLC", "FileSystem", "TCLake", "TDSQL_BOUNDLESS",
)  # fmt: skip
_TYPES = frozenset(SOURCE_TYPES)

_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
MAX_NAME = 64
MAX_DISPLAY_NAME = 64
MAX_DESCRIPTION = 1024
MAX_PROPERTIES = 64 * 1024

_SECRET_NAMES = frozenset({
    "password", "passwd", "pwd", "secretkey", "privatekey", "accesskeysecret", "token", "sessiontoken", "keytab",
})  # fmt: skip


def is_secret_key(key: str) -> bool:
    name = key.lower().replace("_", "").replace("-", "")
    return name in _SECRET_NAMES or name.endswith("password")


def check_type(value: int | str) -> str:
    if not isinstance(value, str) or value not in _TYPES:
        raise InvalidValue(
            f"Type must be one of the WeData data source types ({', '.join(SOURCE_TYPES)}), got {value!r}"
        )
    return value


def check_name(name: str) -> str:
    if "\x00" in name or not _NAME.fullmatch(name) or len(name) > MAX_NAME:
        raise InvalidValue(
            f"Name must start with a letter and hold only letters, digits and _ (at most {MAX_NAME} characters), "
            f"got {name[:80]!r}"
        )
    return name


def check_display_name(name: str) -> str:
    if not name.strip():
        raise InvalidValue("DisplayName must not be empty")
    if len(name) > MAX_DISPLAY_NAME:
        raise InvalidValue(f"DisplayName must be at most {MAX_DISPLAY_NAME} characters, got {len(name)}")
    if any(ord(c) < 32 or ord(c) == 127 for c in name):
        raise InvalidValue("DisplayName must not contain control characters")
    return name


def check_description(text: str) -> str:
    if len(text) > MAX_DESCRIPTION:
        raise InvalidValue(f"Description must be at most {MAX_DESCRIPTION} characters, got {len(text)}")
    if any((ord(c) < 32 and c not in "\t\r\n") or ord(c) == 127 for c in text):
        raise InvalidValue("Description must not contain control characters other than tab and newline")
    return text


def parse_properties(text: str, field: str) -> dict[str, Any]:
    """A ConProperties string -> its JSON object (``InvalidValue`` naming ``field`` otherwise)."""
    if len(text) > MAX_PROPERTIES:
        raise InvalidValue(f"{field} must be at most {MAX_PROPERTIES} characters, got {len(text)}")
    if "\x00" in text:
        raise InvalidValue(f"{field} must not contain NUL characters")
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise InvalidValue(f"{field} must be a JSON object: {_json_error(exc)}") from None
    if not isinstance(value, dict):
        raise InvalidValue(f"{field} must be a JSON object (key -> value), got {type(value).__name__}")
    _check_strings(value, field)
    return value


def _json_error(exc: ValueError) -> str:
    # json's message names the place, never the text around it (which may hold the password).
    if isinstance(exc, json.JSONDecodeError):
        return f"{exc.msg} at line {exc.lineno} column {exc.colno}"
    return "not valid JSON"


def _check_strings(value: Any, field: str) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            if "\x00" in key:
                raise InvalidValue(f"{field}: keys must not contain NUL characters")
            _check_strings(item, f"{field}.{key}")
    elif isinstance(value, list):
        for item in value:
            _check_strings(item, field)
    elif isinstance(value, str) and "\x00" in value:
        raise InvalidValue(f"{field} must not contain NUL characters")


def dump(props: dict[str, Any]) -> str:
    return json.dumps(props, ensure_ascii=False, separators=(",", ":"))


def _json_object(text: str) -> dict[str, Any] | None:
    if not text.lstrip().startswith("{"):
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def masked(value: Any) -> Any:
    """A copy with every non-empty secret replaced by ``MASK``."""
    if isinstance(value, dict):
        return {k: (MASK if is_secret_key(k) and v not in (None, "") else masked(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [masked(v) for v in value]
    if isinstance(value, str):
        inner = _json_object(value)
        if inner is not None:
            hidden = masked(inner)
            return dump(hidden) if hidden != inner else value
    return value


def unmask(new: Any, old: Any, field: str) -> Any:
    """``new`` with every ``MASK`` secret replaced by the value ``old`` has at the same place.

    A ``MASK`` with nothing stored behind it is refused: the caller must give the secret.
    """
    if isinstance(new, dict):
        prev = old if isinstance(old, dict) else {}
        out: dict[str, Any] = {}
        for key, value in new.items():
            if is_secret_key(key) and value == MASK:
                if prev.get(key) in (None, ""):
                    raise InvalidValue(
                        f"{field}.{key} is the mask {MASK} but no {key} is stored for it: give the {key} itself"
                    )
                out[key] = prev[key]
            else:
                out[key] = unmask(value, prev.get(key), f"{field}.{key}")
        return out
    if isinstance(new, list):
        prev_list = old if isinstance(old, list) else []
        return [unmask(v, prev_list[i] if i < len(prev_list) else None, field) for i, v in enumerate(new)]
    if isinstance(new, str) and MASK in new:
        inner = _json_object(new)
        if inner is not None:
            prev_inner = _json_object(old) if isinstance(old, str) else None
            restored = unmask(inner, prev_inner, field)
            return dump(restored) if restored != inner else new
    return new
