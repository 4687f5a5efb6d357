"""Instance states (spec §3.10) and the moves between them.

The table below is the only definition of what may happen to an instance; the transition
function (transitions.py) refuses anything else. Re-entering a waiting state from a terminal
one starts a new life round (rerun, backfill); that is decided by the caller, not here.
"""

from __future__ import annotations

WAIT_EVENT = "WAIT_EVENT"
WAIT_UPSTREAM = "WAIT_UPSTREAM"
WAIT_RUN = "WAIT_RUN"
RUNNING = "RUNNING"
FAILED_RETRY = "FAILED_RETRY"
COMPLETED = "COMPLETED"
EXPIRED = "EXPIRED"
SKIP_RUNNING = "SKIP_RUNNING"

ALL_STATES = (WAIT_EVENT, WAIT_UPSTREAM, WAIT_RUN, RUNNING, FAILED_RETRY, COMPLETED, EXPIRED, SKIP_RUNNING)
WAITING = frozenset({WAIT_EVENT, WAIT_UPSTREAM, WAIT_RUN})
TERMINAL = frozenset({COMPLETED, EXPIRED, SKIP_RUNNING})
# States in which the instance still has work ahead of it (not terminal, not running).
PENDING = frozenset({WAIT_EVENT, WAIT_UPSTREAM, WAIT_RUN, FAILED_RETRY})

# Legacy numeric codes (2021 API), accepted as input filters (spec §3.10).
LEGACY_CODES: dict[str, str] = {
    "0": WAIT_EVENT,
    "12": WAIT_UPSTREAM,
    "6": WAIT_RUN,
    "7": WAIT_RUN,
    "9": WAIT_RUN,
    "10": WAIT_RUN,
    "18": WAIT_RUN,
    "1": RUNNING,
    "19": RUNNING,
    "22": RUNNING,
    "21": SKIP_RUNNING,
    "3": FAILED_RETRY,
    "8": EXPIRED,
    "4": EXPIRED,
    "5": EXPIRED,
    "13": EXPIRED,
    "2": COMPLETED,
}

_W = WAITING
ALLOWED: dict[str | None, frozenset[str]] = {
    # Creation (planning, backfill): an instance starts waiting.
    None: frozenset(_W),
    # Waiting states move between each other as listeners and upstreams are (un)met, start
    # running, or end without running: timeout / kill / force-fail (EXPIRED), set-success or
    # dry run (COMPLETED), skip.
    WAIT_EVENT: frozenset({WAIT_UPSTREAM, WAIT_RUN, RUNNING, COMPLETED, EXPIRED, SKIP_RUNNING}),
    WAIT_UPSTREAM: frozenset({WAIT_EVENT, WAIT_RUN, RUNNING, COMPLETED, EXPIRED, SKIP_RUNNING}),
    WAIT_RUN: frozenset({WAIT_EVENT, WAIT_UPSTREAM, RUNNING, COMPLETED, EXPIRED, SKIP_RUNNING}),
    # An attempt ends: success, failure with a retry left, failure for good (or killed).
    RUNNING: frozenset({COMPLETED, FAILED_RETRY, EXPIRED}),
    # Waiting for the retry: back to the queue, or ended by a kill / set-success.
    FAILED_RETRY: frozenset({WAIT_RUN, WAIT_UPSTREAM, WAIT_EVENT, COMPLETED, EXPIRED}),
    # Terminal states only leave through a new life round (rerun / backfill) or set-success.
    COMPLETED: frozenset(_W),
    EXPIRED: frozenset(_W | {COMPLETED}),
    SKIP_RUNNING: frozenset(_W | {COMPLETED}),
}


def is_allowed(from_state: str | None, to_state: str) -> bool:
    return to_state in ALLOWED.get(from_state, frozenset())


def parse_state(value: str) -> str:
    """An InstanceState filter value: the name (any case) or a legacy numeric code."""
    text = value.strip()
    if text in LEGACY_CODES:
        return LEGACY_CODES[text]
    upper = text.upper()
    if upper in ALL_STATES:
        return upper
    raise ValueError(f"unknown InstanceState {value!r}")


# DetailState of an execution phase for each instance state (spec §3.10).
DETAIL_STATE = {
    WAIT_EVENT: "WAIT_UPSTREAM",
    WAIT_UPSTREAM: "WAIT_UPSTREAM",
    WAIT_RUN: "WAIT_RUN",
    RUNNING: "RUNNING",
    FAILED_RETRY: "FAILED",
    COMPLETED: "COMPLETE",
    EXPIRED: "EXPIRED",
    SKIP_RUNNING: "SKIP_RUNNING",
}
