"""What a client sends as a code file: its text and its ``CodeFileConfig``.

- ``CodeFileContent`` is plain text, as in WeData's examples (``"Hello Terraform"``, not
  Base64), at most ``settings.code_file_max_bytes`` bytes of UTF-8 (default 2 MiB,
  ``WEDATA_CODE_FILE_MAX_BYTES``; below the 10 MiB request limit so that a larger file is
  refused naming the field), no NUL.
- A ``.ipynb`` file holds a real notebook: non-empty content must be notebook JSON that
  nbformat validates (nbformat 4, any minor version). Empty content is an empty file, as WeData's CreateCodeFile example
  creates it; it runs as an empty notebook.
- ``CodeFileConfig.Params`` is kept as given (WeData's examples send free text such as
  ``"p1"``), at most 64 KiB without control characters; ``NotebookSessionInfo`` is kept.
"""

from __future__ import annotations

import json
import warnings
from typing import Any

from wedata.services.errors import InvalidValue
from wedata.spec import models as M

NOTEBOOK_SUFFIX = ".ipynb"
MAX_CONFIG_TEXT = 64 * 1024


def check_text(text: str | None, field: str, max_bytes: int) -> str:
    if text is None:
        return ""
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > max_bytes:
        raise InvalidValue(f"{field}: the file is {size} bytes, more than the limit of {max_bytes} bytes "
                           "(WEDATA_CODE_FILE_MAX_BYTES)")
    if "\x00" in text:
        raise InvalidValue(f"{field} must not contain NUL characters")
    return text


def is_notebook(name: str) -> bool:
    return name.lower().endswith(NOTEBOOK_SUFFIX)


def check_notebook(text: str, field: str) -> None:
    """``InvalidParameterValue`` naming the field unless ``text`` is a valid nbformat 4 notebook."""
    if not text.strip():
        return
    try:
        doc = json.loads(text)
    except ValueError as exc:
        raise InvalidValue(f"{field} is not a notebook (.ipynb JSON): {exc}") from None
    major = doc.get("nbformat") if isinstance(doc, dict) else None
    if major != 4:
        raise InvalidValue(f"{field} is not a notebook: it must be a JSON object with nbformat 4, got "
                           f"nbformat {major!r}")
    import nbformat  # imported lazily: only notebook saves need it

    try:
        with warnings.catch_warnings():  # a cell without an id: nbformat warns, it stays valid
            warnings.simplefilter("ignore")
            nbformat.validate(nbformat.from_dict(doc), version=4)
    except nbformat.ValidationError as exc:
        where = "/".join(str(p) for p in getattr(exc, "absolute_path", ()) or ())
        message = str(getattr(exc, "message", exc)).splitlines()[0]
        raise InvalidValue(f"{field} is not a valid notebook{f' at {where}' if where else ''}: "
                           f"{message[:300]}") from None


def check_content(name: str, text: str | None, field: str, max_bytes: int) -> str:
    checked = check_text(text, field, max_bytes)
    if is_notebook(name):
        check_notebook(checked, field)
    return checked


def _opt_text(value: str | None, field: str, limit: int) -> str | None:
    if value is None:
        return None
    if len(value) > limit:
        raise InvalidValue(f"{field} must be at most {limit} characters")
    if any(ord(c) < 32 and c not in "\t\r\n" for c in value):
        raise InvalidValue(f"{field} must not contain control characters")
    return value


def parse_config(config: M.CodeFileConfig | None, prefix: str = "CodeFileConfig") -> dict[str, Any] | None:
    """The ``CodeFileConfig`` wire dict to store (None when not given)."""
    if config is None:
        return None
    session: dict[str, Any] | None = None
    info = config.notebook_session_info
    if info is not None:
        session = {
            "NotebookSessionId": _opt_text(info.notebook_session_id, f"{prefix}.NotebookSessionInfo.NotebookSessionId",
                                           256),
            "NotebookSessionName": _opt_text(info.notebook_session_name,
                                             f"{prefix}.NotebookSessionInfo.NotebookSessionName", 256),
        }
    return {"Params": _opt_text(config.params, f"{prefix}.Params", MAX_CONFIG_TEXT), "NotebookSessionInfo": session}


def empty_notebook() -> str:
    """What an empty ``.ipynb`` runs as."""
    return json.dumps({"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5})
