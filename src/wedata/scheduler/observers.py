"""Observers of instance state changes, per database (e.g. the alarms).

``Tx.flush()`` (transitions.py) calls :func:`notify` with the batch of ``instance_transitions``
rows it has just written, inside the same transaction, so an observer's own writes (an alarm
message) commit if and only if the state changes they report commit. The scheduler knows
nothing about what observers do.

Observers are registered per SQLAlchemy engine (one per database), weakly: several runtimes in
one process (tests) each see only their own database, and a dropped service stops observing.

Contract for an observer ``fn(conn, changes)``: it runs on the engine's thread inside its
transaction, so it must be quick, and it must not raise (an exception would roll back the state
changes); wrap its writes in a SAVEPOINT and log its own failures. Each change is a dict with
``instance_id``, ``from_state`` (None when created), ``to_state``, ``life_round_num``, ``tries``,
``actor``, ``reason`` and ``at``.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, Engine

Observer = Callable[[Connection, Sequence[Mapping[str, Any]]], None]

_observers: weakref.WeakKeyDictionary[Engine, dict[str, Callable[[], Observer | None]]] = (
    weakref.WeakKeyDictionary()
)


def observe(engine: Engine, name: str, fn: Observer) -> None:
    """Register (or replace) the observer ``name`` of the database behind ``engine``. A bound
    method is held weakly (it does not keep its service alive)."""
    ref: Callable[[], Observer | None]
    if hasattr(fn, "__self__") and hasattr(fn, "__func__"):
        ref = weakref.WeakMethod(fn)  # type: ignore[arg-type]
    else:

        def ref() -> Observer | None:
            return fn

    _observers.setdefault(engine, {})[name] = ref


def unobserve(engine: Engine, name: str) -> None:
    _observers.get(engine, {}).pop(name, None)


def notify(conn: Connection, changes: Sequence[Mapping[str, Any]]) -> None:
    registered = _observers.get(conn.engine)
    if not registered or not changes:
        return
    for ref in list(registered.values()):
        fn = ref()
        if fn is not None:
            fn(conn, changes)
