"""GetTaskInstanceLog and ListTaskInstanceExecutions over the engine's files and history.

Logs: one file per life round (every try of the round appends to it, each try opening with a
header line). ``NextCursor`` is the byte offset to continue from; a page holds at most
``PAGE_BYTES`` and always ends on a line boundary. While the round can still write (the instance
is not in a terminal state) the cursor is returned even at the end of the file, so a client
polls for more; once the round is over and everything was read it is null. Lines are joined with
``<br>`` as in WeData's example. ``LogLevel`` keeps the scheduler's lines of that level
(``yyyy-MM-dd HH:mm:ss +08:00 LEVEL ...``); the task's own output counts as Info.

Executions: one item per attempt (life round, try), oldest first, with its phases rebuilt from
the transition history; a round that has not started an attempt yet (waiting) or ended without
one (expired while waiting) shows as an item with ``Tries`` 0 of its own.

Both return records (records.py); actions/instances/wire.py renders them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import select

from wedata.clock import Clock
from wedata.executors.remote import logs_in_database
from wedata.scheduler.api import states
from wedata.services.common import page
from wedata.services.errors import InvalidValue, NotFound
from wedata.services.instances.records import Execution, Executions, LogPage, Phase
from wedata.storage.engine_tables import instance_executions, instance_transitions
from wedata.storage.remote_runs import read_chunks

E = instance_executions
H = instance_transitions
PAGE_BYTES = 256 * 1024
LEVELS = {"ALL": None, "INFO": "INFO", "DEBUG": "DEBUG", "WARN": "WARN", "ERROR": "ERROR"}
# A scheduler line: its time, the zone of that time (written since issue 16), the level.
_LEVELED = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(?: [+-]\d{2}:\d{2})? (INFO|DEBUG|WARN|ERROR) ")
EXEC_STATE = {"RUNNING": states.RUNNING, "COMPLETE": states.COMPLETED, "FAILED": states.FAILED_RETRY, "EXPIRED": states.EXPIRED,
              "SKIP_RUNNING": states.SKIP_RUNNING}


def parse_level(value: str | None) -> str | None:
    text = (value or "All").strip().upper()
    if text not in LEVELS:
        raise InvalidValue(f"LogLevel must be Info, Debug, Warn, Error or All, got {value!r}")
    return LEVELS[text]


def parse_cursor(value: str | None) -> int:
    if value is None or value == "":
        return 0
    text = value.strip()
    if not text.isdigit():
        raise InvalidValue(f"NextCursor {value!r} is not a cursor returned by GetTaskInstanceLog")
    return int(text)


def read_page(path: str | None, offset: int) -> tuple[list[str], int, bool]:
    """Lines from ``offset`` (at most PAGE_BYTES, whole lines), the next offset, and EOF."""
    if not path:
        return [], offset, True
    try:
        with open(path, "rb") as f:
            f.seek(0, 2)
            size = f.tell()
            if offset > size:
                raise InvalidValue(f"NextCursor {offset} is beyond the end of the log")
            f.seek(offset)
            data = f.read(PAGE_BYTES)
    except FileNotFoundError:
        return [], offset, True
    return _page(data, offset, size)


def read_chunk_page(conn: Any, execution_ids: Sequence[int], offset: int) -> tuple[list[str], int, bool]:
    """As :func:`read_page`, over the chunks remote attempts wrote to the database (in order)."""
    data, size = read_chunks(conn, execution_ids, offset, PAGE_BYTES)
    if offset > size:
        raise InvalidValue(f"NextCursor {offset} is beyond the end of the log")
    return _page(data, offset, size)


def _page(data: bytes, offset: int, size: int) -> tuple[list[str], int, bool]:
    """Whole lines of ``data`` (read at ``offset`` of a log of ``size`` bytes), the next offset, EOF."""
    if not data:
        return [], offset, True
    end = len(data)
    if offset + end < size or not data.endswith(b"\n"):
        cut = data.rfind(b"\n")
        if cut >= 0:
            end = cut + 1
        elif offset + end < size:
            end = len(data)  # one line longer than a page: hand it out in pieces
    chunk = data[:end]
    next_offset = offset + end
    lines = chunk.decode("utf-8", "replace").splitlines()
    return lines, next_offset, next_offset >= size


def filter_level(lines: Sequence[str], level: str | None) -> list[str]:
    if level is None:
        return list(lines)
    out = []
    for line in lines:
        m = _LEVELED.match(line)
        if (m.group(1) if m else "INFO") == level:
            out.append(line)
    return out


def instance_log(conn: Any, inst: Mapping[Any, Any], life_round: int | None, level_text: str | None,
                 cursor_text: str | None) -> LogPage:
    level = parse_level(level_text)
    cursor = parse_cursor(cursor_text)
    current = inst["life_round_num"]
    rnd = current if life_round is None else life_round
    if rnd < 0 or rnd > current:
        raise NotFound(f"The task instance has no execution with LifeRoundNum {rnd} (latest is {current}).")
    rows = conn.execute(
        select(E.c.log_path, E.c.code_content, E.c.id, E.c.executor)
        .where(E.c.instance_id == inst["id"], E.c.life_round_num == rnd)
        .order_by(E.c.try_no.desc())
    ).all()
    path = next((r[0] for r in rows if r[0]), None)
    code = next((r[1] for r in rows if r[1] is not None), None)
    # A round that ran on remote workers has its log in the database (docs/workers.md): the
    # chunks of its remote tries, oldest first; any API process can read them.
    remote = [r[2] for r in reversed(rows) if logs_in_database(r[3])]
    if remote:
        lines, next_offset, eof = read_chunk_page(conn, remote, cursor)
    else:
        lines, next_offset, eof = read_page(path, cursor)
    open_round = rnd == current and inst["state"] not in states.TERMINAL
    return LogPage(instance=inst, code=code, lines=filter_level(lines, level),
                   next_cursor=None if eof and not open_round else next_offset)


def _phases(transitions: Sequence[Mapping[Any, Any]]) -> list[Phase]:
    phases: list[Phase] = []
    last: str | None = None
    for i, t in enumerate(transitions):
        detail = states.DETAIL_STATE[t["to_state"]]
        end = transitions[i + 1]["at"] if i + 1 < len(transitions) else (
            t["at"] if t["to_state"] in states.TERMINAL or t["to_state"] == states.FAILED_RETRY else None)
        if detail == last and phases:
            phases[-1] = replace(phases[-1], end=end)
            continue
        phases.append(Phase(detail_state=detail, start=t["at"], end=end))
        last = detail
    return phases


def _belongs(t: Mapping[Any, Any], rnd: int, try_no: int) -> bool:
    """Waiting before try n is recorded with tries n-1; the try's own moves with tries n."""
    if t["life_round_num"] != rnd:
        return False
    if t["to_state"] in states.WAITING:
        return t["tries"] == try_no - 1
    return t["tries"] == try_no


def executions(conn: Any, inst: Mapping[Any, Any], number: Any, size: Any, clock: Clock) -> Executions:
    pg = page(number, size, default_size=10, min_size=1, max_size=200)
    execs = conn.execute(
        select(E).where(E.c.instance_id == inst["id"]).order_by(E.c.life_round_num, E.c.try_no)
    ).mappings().all()
    history = conn.execute(select(H).where(H.c.instance_id == inst["id"]).order_by(H.c.id)).mappings().all()
    now: datetime = clock.now()
    items: list[Execution] = []
    for e in execs:
        own = [t for t in history if _belongs(t, e["life_round_num"], e["try_no"])]
        end = e["ended_at"] or (now if e["state"] == "RUNNING" else None)
        cost = int((end - e["started_at"]).total_seconds() * 1000) if end and e["started_at"] else None
        is_current = (e["life_round_num"], e["try_no"]) == (inst["life_round_num"], inst["tries"])
        state = inst["state"] if is_current and e["state"] != "FAILED" else EXEC_STATE.get(e["state"], e["state"])
        items.append(Execution(life_round_num=e["life_round_num"], state=state, run_type=e["run_type"],
                               tries=e["try_no"], phases=_phases(own), cost_ms=cost))
    rnd, tries = inst["life_round_num"], inst["tries"]
    has_current = any(e["life_round_num"] == rnd for e in execs)
    if inst["state"] in states.WAITING or not has_current:
        # The attempt to come (or a round that ended without one).
        own = [t for t in history if t["life_round_num"] == rnd and t["tries"] == tries
               and (t["to_state"] in states.WAITING or t["to_state"] in (states.EXPIRED, states.COMPLETED, states.SKIP_RUNNING))
               and not any(e["life_round_num"] == rnd and e["try_no"] == tries and t["to_state"] not in states.WAITING
                           for e in execs)]
        items.append(Execution(life_round_num=rnd, state=inst["state"], run_type=inst["run_type"],
                               tries=tries, phases=_phases(own), cost_ms=None))
    return Executions(instance=inst, items=items[pg.offset : pg.offset + pg.size], total=len(items), page=pg)
