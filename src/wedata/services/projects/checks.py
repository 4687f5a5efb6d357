"""Field rules of projects and their members: user ids, display names, descriptions."""

from __future__ import annotations

import re

from wedata.services.errors import InvalidValue

_UIN = re.compile(r"[0-9]{1,32}")
MAX_DESCRIPTION = 1024


def check_uin(uin: str, field: str) -> str:
    if not _UIN.fullmatch(uin or ""):
        raise InvalidValue(f"{field} must be a numeric user id, got {uin!r}")
    return uin


def check_display_name(name: str) -> str:
    if not name or not name.strip():
        raise InvalidValue("DisplayName must not be empty")
    if len(name) > 32:
        raise InvalidValue(f"DisplayName must be at most 32 characters, got {len(name)}")
    if any(ord(c) < 32 for c in name):
        raise InvalidValue("DisplayName must not contain control characters")
    return name


def check_description(text: str) -> str:
    if len(text) > MAX_DESCRIPTION:
        raise InvalidValue(f"Description must be at most {MAX_DESCRIPTION} characters")
    return text
