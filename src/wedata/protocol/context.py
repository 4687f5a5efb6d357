"""What a handler knows about the request it serves."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from wedata.principal import Caller


@dataclass(slots=True)
class RequestContext:
    action: str
    version: str
    request_id: str
    caller: Caller
    region: str | None = None
    language: str = "zh-CN"
    # Per-request scratch space for layers above the protocol (e.g. the project a check loaded).
    extras: dict[str, Any] = field(default_factory=dict)
