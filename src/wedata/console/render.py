"""Templates: one Jinja2 environment, autoescaped, and the filters the pages share.

Autoescape is on for every template (``select_autoescape`` with ``default=True``), and no template
marks user text ``|safe``: task names, code, log lines and parameters are always shown as text.
The DAG's nodes are rendered here as SVG text too; the browser's layout code only moves them.
"""

from __future__ import annotations

import base64
import binascii
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

TEMPLATES = Path(__file__).resolve().parent / "templates"

# Instance states (scheduler/states.py) -> the colour class of a cell, a node, a badge; and the
# words shown for them (WeData's own terms, the ones the API answers).
STATE_CLASS = {
    "COMPLETED": "ok",
    "EXPIRED": "failed",
    "FAILED_RETRY": "retry",
    "RUNNING": "running",
    "WAIT_RUN": "queued",
    "WAIT_UPSTREAM": "waiting",
    "WAIT_EVENT": "waiting",
    "SKIP_RUNNING": "skipped",
}
STATE_WORDS = {
    "COMPLETED": "succeeded",
    "EXPIRED": "failed",
    "FAILED_RETRY": "failed, will retry",
    "RUNNING": "running",
    "WAIT_RUN": "waiting for a slot",
    "WAIT_UPSTREAM": "waiting for upstream",
    "WAIT_EVENT": "waiting for an event",
    "SKIP_RUNNING": "skipped",
}
STATES = tuple(STATE_CLASS)


def state_class(state: str | None) -> str:
    return "st-" + STATE_CLASS.get(state or "", "none")


def state_words(state: str | None) -> str:
    return STATE_WORDS.get(state or "", "no run") if state else "no run"


def decode_code(value: str | None) -> str:
    """CodeContent is base64 on the wire; shown decoded (as text, escaped)."""
    if not value:
        return ""
    try:
        return base64.b64decode(value, validate=True).decode("utf-8", "replace")
    except (binascii.Error, ValueError):
        return value


def log_lines(text: str | None) -> list[str]:
    """GetTaskInstanceLog joins lines with ``<br>`` (WeData's format); each line is then text."""
    if not text:
        return []
    return text.split("<br>")


def query(base: dict[str, Any], **changes: Any) -> str:
    """A query string from ``base`` with ``changes`` (None drops a key)."""
    merged = {**base, **changes}
    return "?" + urlencode({k: v for k, v in merged.items() if v not in (None, "")})


def build_environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(state_class=state_class, state_words=state_words, decode_code=decode_code,
                       log_lines=log_lines)
    env.globals.update(STATES=STATES, query=query, STATE_WORDS=STATE_WORDS)
    return env
