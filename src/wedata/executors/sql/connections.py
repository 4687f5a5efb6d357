"""Connections to a data source's database, by wire protocol, through SQLAlchemy.

This module turns a data source's connection properties (WeData's ``ConProperties`` JSON: a
JDBC ``url``, ``username``, ``password``, ...) into a SQLAlchemy URL, tests a connection within
a hard time bound, and keeps one small connection pool per data source. It knows nothing of
projects, grants or storage: the data-source service decides who may use what and hands the
decrypted properties here; the SQL executor and the catalog use the same pools.

Wire protocols (what a type *speaks*, not what it is):

- MySQL wire, through PyMySQL (``mysql+pymysql://``): MYSQL, TENCENT_MYSQL, TDSQL_MYSQL, TiDB,
  DORIS, StarRocks, TCHOUSE_D; their url is ``jdbc:mysql://host[:port][/database]`` (or
  ``jdbc:mariadb://``), port 3306 by default.
- PostgreSQL wire, through psycopg 3 (``postgresql+psycopg://``): POSTGRE, TDSQL_POSTGRE,
  GREENPLUM, TBASE, TCHOUSE_P; url ``jdbc:postgresql://host[:port][/database]``, port 5432.
- Every other type is not runnable here: ``NotRunnable`` names the type.

Decisions where WeData is silent:

- The url names one host. JDBC's fail-over lists (``host1,host2``) are refused, and so is a url
  that carries a user or a password (``user:pw@host``, ``?password=``): the password has one
  place, the ``password`` property, which is the one that is encrypted and masked.
- JDBC url parameters (``?useSSL=false&serverTimezone=...``) are Java driver options: they are
  kept in the properties but not passed to the Python drivers, except ``sslmode`` for the
  PostgreSQL wire (libpq's own option). MySQL-wire sessions use ``utf8mb4``.
- A connection test is connect + ``SELECT 1``, bounded by ``timeout`` seconds twice over: a
  wall-clock deadline on the thread that runs it, so a host that accepts TCP and then never
  answers (a listening socket nobody serves, a black-holing firewall) cannot hold the caller
  past the bound, and behind it the drivers' own timeouts (PyMySQL's ``connect_timeout``/
  ``read_timeout``/``write_timeout``, libpq's ``connect_timeout``; one second longer, so that a
  silent host always gets the one message "... did not answer within N s"), which end the
  abandoned thread soon after. That thread holds no lock and writes nothing.
- Error messages are the driver's own (``(1045) Access denied for user ...``, ``connection
  failed: ... database "x" does not exist``) on one line, with the password and its URL-quoted
  forms replaced by ``***`` wherever they stand as a word of their own: drivers do not print
  passwords, but a message that echoes a url or a parameter must not leak one either.
- Pools: one SQLAlchemy engine per (source id, side) with a small pool (2 connections + 3
  overflow, pre-ping, recycled after 30 min). The engine is keyed by a fingerprint of the
  connection spec, so an update of the properties replaces (and disposes) the old pool.
"""

from __future__ import annotations

import hashlib
import math
import re
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, quote, quote_plus, unquote

from sqlalchemy import Engine, create_engine
from sqlalchemy.engine import URL
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import NullPool

MYSQL = "mysql"
POSTGRESQL = "postgresql"

MYSQL_WIRE_TYPES = frozenset({"MYSQL", "TENCENT_MYSQL", "TDSQL_MYSQL", "TiDB", "DORIS", "StarRocks", "TCHOUSE_D"})
POSTGRES_WIRE_TYPES = frozenset({"POSTGRE", "TDSQL_POSTGRE", "GREENPLUM", "TBASE", "TCHOUSE_P"})

_SCHEMES = {MYSQL: ("mysql", "mariadb"), POSTGRESQL: ("postgresql",)}
_DRIVERS = {MYSQL: "mysql+pymysql", POSTGRESQL: "postgresql+psycopg"}
_DEFAULT_PORTS = {MYSQL: 3306, POSTGRESQL: 5432}
_WIRE_NAMES = {MYSQL: "MySQL", POSTGRESQL: "PostgreSQL"}
_SSLMODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")

_JDBC = re.compile(r"jdbc:(?P<scheme>[A-Za-z0-9]+)://(?P<authority>[^/?#;]*)(?P<path>/[^?#;]*)?(?P<rest>.*)", re.S)
_HOST_PORT = re.compile(r"(?:\[(?P<v6>[0-9A-Fa-f:.]+)\]|(?P<host>[A-Za-z0-9._-]+))(?::(?P<port>[0-9]{1,5}))?")

MAX_URL = 2048
MAX_USERNAME = 256
MAX_PASSWORD = 1024


class SourceError(Exception):
    """A data source cannot be connected to; ``message`` is safe to show (no secret in it)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class PropertyError(SourceError):
    """A connection property is missing or malformed; ``key`` names it (``url``, ``username``)."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key


class NotRunnable(SourceError):
    """The data source's type has no driver here."""

    def __init__(self, source_type: str) -> None:
        runnable = ", ".join(sorted(MYSQL_WIRE_TYPES | POSTGRES_WIRE_TYPES, key=str.lower))
        super().__init__(
            f"Data sources of type {source_type} cannot be connected to by this server: only MySQL-wire and "
            f"PostgreSQL-wire types can ({runnable})."
        )
        self.source_type = source_type


class ConnectFailed(SourceError):
    """The database refused or did not answer; the message is the driver's, scrubbed."""


def wire_of(source_type: str) -> str | None:
    """``mysql``, ``postgresql`` or None (not runnable here)."""
    if source_type in MYSQL_WIRE_TYPES:
        return MYSQL
    if source_type in POSTGRES_WIRE_TYPES:
        return POSTGRESQL
    return None


@dataclass(frozen=True)
class ConnectionSpec:
    """Where and as whom to connect. ``repr`` never shows the password."""

    source_type: str
    wire: str
    host: str
    port: int
    database: str | None
    username: str
    password: str | None = field(default=None, repr=False)
    # Driver options taken from the url (only libpq's sslmode today).
    options: tuple[tuple[str, str], ...] = ()

    def url(self) -> URL:
        query: dict[str, str] = dict(self.options)
        if self.wire == MYSQL:
            query["charset"] = "utf8mb4"
        return URL.create(
            _DRIVERS[self.wire],
            username=self.username,
            password=self.password or None,
            host=self.host,
            port=self.port,
            database=self.database or None,
            query=query,
        )

    def connect_args(self, timeout: float, *, bound_reads: bool) -> dict[str, Any]:
        """Driver timeouts: connecting always; reads only for a test (queries may be long)."""
        if self.wire == MYSQL:
            args: dict[str, Any] = {"connect_timeout": timeout}
            if bound_reads:
                args.update(read_timeout=timeout, write_timeout=timeout)
            return args
        # libpq takes whole seconds and treats anything below 2 as 2.
        return {"connect_timeout": max(2, math.ceil(timeout))}

    @property
    def address(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    def fingerprint(self) -> str:
        """Changes whenever anything the connection depends on changes (password included)."""
        parts = (self.wire, self.host, str(self.port), self.database or "", self.username, self.password or "",
                 repr(self.options))
        return hashlib.sha256("\x00".join(parts).encode("utf-8")).hexdigest()

    def secrets(self) -> tuple[str, ...]:
        return (self.password,) if self.password else ()


def _text(props: Mapping[str, Any], key: str, limit: int, *, required: bool) -> str | None:
    value = props.get(key)
    if value is None or value == "":
        if required:
            raise PropertyError(key, f"{key} is required")
        return None
    if not isinstance(value, str):
        raise PropertyError(key, f"{key} must be a string")
    if len(value) > limit:
        raise PropertyError(key, f"{key} must be at most {limit} characters")
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise PropertyError(key, f"{key} must not contain control characters")
    return value


def connection_spec(source_type: str, props: Mapping[str, Any]) -> ConnectionSpec:
    """Parse the properties of a runnable type; ``NotRunnable`` or ``PropertyError`` otherwise."""
    wire = wire_of(source_type)
    if wire is None:
        raise NotRunnable(source_type)
    url = _text(props, "url", MAX_URL, required=True)
    username = _text(props, "username", MAX_USERNAME, required=True)
    password = props.get("password")
    if password is not None and not isinstance(password, str):
        raise PropertyError("password", "password must be a string")
    if password is not None and (len(password) > MAX_PASSWORD or "\x00" in password):
        raise PropertyError("password", f"password must be at most {MAX_PASSWORD} characters, without NUL")
    assert url is not None and username is not None
    host, port, database, options = parse_jdbc_url(url, wire, source_type)
    return ConnectionSpec(source_type, wire, host, port, database, username, password or None, options)


def parse_jdbc_url(url: str, wire: str, source_type: str) -> tuple[str, int, str | None, tuple[tuple[str, str], ...]]:
    """``jdbc:<scheme>://host[:port][/database][?params]`` -> (host, port, database, options)."""
    expected = " or ".join(f"jdbc:{s}://" for s in _SCHEMES[wire])
    want = f"a {source_type} data source ({_WIRE_NAMES[wire]} wire protocol) takes a {expected} url"
    m = _JDBC.fullmatch(url.strip())
    if m is None:
        raise PropertyError("url", f"url must look like {_SCHEMES[wire][0]}: {want}, e.g. "
                                   f"jdbc:{_SCHEMES[wire][0]}://127.0.0.1:{_DEFAULT_PORTS[wire]}/db")
    scheme = m.group("scheme").lower()
    if scheme not in _SCHEMES[wire]:
        raise PropertyError("url", f"url: {want}, got a jdbc:{scheme}:// url")
    authority = m.group("authority")
    if "@" in authority:
        raise PropertyError("url", "url must not carry a user or password: give them as username and password")
    if "," in authority:
        raise PropertyError("url", "url must name one host (JDBC fail-over host lists are not supported)")
    hp = _HOST_PORT.fullmatch(authority)
    if hp is None or not authority:
        raise PropertyError("url", "url must name a host, e.g. "
                                   f"jdbc:{_SCHEMES[wire][0]}://127.0.0.1:{_DEFAULT_PORTS[wire]}/db")
    host = hp.group("v6") or hp.group("host")
    port = int(hp.group("port")) if hp.group("port") else _DEFAULT_PORTS[wire]
    if not 1 <= port <= 65535:
        raise PropertyError("url", f"url: the port must be between 1 and 65535, got {port}")
    path = unquote(m.group("path") or "").lstrip("/")
    if "/" in path or any(ord(c) < 32 for c in path):
        raise PropertyError("url", "url: the database name must not contain '/' or control characters")
    rest = m.group("rest")
    options: list[tuple[str, str]] = []
    if rest:
        if not rest.startswith("?"):
            raise PropertyError("url", "url: parameters must follow a '?' (key=value&key=value)")
        for key, value in parse_qsl(rest[1:], keep_blank_values=True):
            if key.lower() in ("user", "password"):
                raise PropertyError("url", "url must not carry a user or password: give them as username and "
                                           "password")
            if wire == POSTGRESQL and key == "sslmode":
                if value not in _SSLMODES:
                    raise PropertyError("url", f"url: sslmode must be one of {', '.join(_SSLMODES)}")
                options.append((key, value))
    return host, port, path or None, tuple(options)


# ----------------------------------------------------------------------------------------------
# Messages.


def scrub(text: str, secrets: tuple[str, ...]) -> str:
    """Replace every secret (as given, URL-quoted either way) by ``***``.

    Only where it stands on its own (not inside a longer word), so that a short password such
    as ``x`` does not turn "exist" into "e***ist"; a password the message quotes, puts after
    ``=`` or ``:`` or ends a line with is always replaced.
    """
    for secret in secrets:
        if not secret:
            continue
        for form in sorted({secret, quote(secret, safe=""), quote_plus(secret)}, key=len, reverse=True):
            text = re.sub(rf"(?<![A-Za-z0-9]){re.escape(form)}(?![A-Za-z0-9])", "***", text)
    return text


def driver_message(exc: BaseException, secrets: tuple[str, ...] = ()) -> str:
    """The driver's own message, on one line, without secrets."""
    orig = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
    args: tuple[Any, ...] = tuple(getattr(orig, "args", ()))
    if len(args) == 2 and isinstance(args[0], int) and isinstance(args[1], str):  # PyMySQL: (code, text)
        text = f"({args[0]}) {args[1]}"
    else:
        text = str(orig) or type(orig).__name__
    return scrub(" ".join(text.split()), secrets)


def test_connection(spec: ConnectionSpec, timeout: float) -> float:
    """Connect and run ``SELECT 1`` within ``timeout`` seconds; the time it took, in seconds.

    Raises ``ConnectFailed`` with the driver's message (or a timeout message naming the
    address) when the database refuses, fails or does not answer in time.
    """
    outcome: dict[str, Any] = {}
    started = time.monotonic()

    def attempt() -> None:
        try:
            # The drivers get a second more than the wall clock, so that a silent host always
            # ends in the one message below rather than in whichever timeout fires first.
            engine = create_engine(spec.url(), poolclass=NullPool,
                                   connect_args=spec.connect_args(timeout + 1.0, bound_reads=True))
            try:
                with engine.connect() as conn:
                    conn.exec_driver_sql("SELECT 1").scalar()
            finally:
                engine.dispose()
        except Exception as exc:  # the driver's failure is the answer
            outcome["error"] = exc
        outcome["done"] = time.monotonic() - started

    worker = threading.Thread(target=attempt, name=f"datasource-test-{spec.address}", daemon=True)
    worker.start()
    worker.join(timeout)
    if "done" not in outcome:
        raise ConnectFailed(
            f"{_WIRE_NAMES[spec.wire]} server at {spec.address} did not answer within {timeout:g} s"
        )
    if "error" in outcome:
        raise ConnectFailed(driver_message(outcome["error"], spec.secrets()))
    return float(outcome["done"])


test_connection.__test__ = False  # type: ignore[attr-defined]  # a name pytest must not collect


# ----------------------------------------------------------------------------------------------
# Pools.


class ConnectionPools:
    """One small SQLAlchemy engine per (data source id, side), replaced when its spec changes."""

    def __init__(self, *, connect_timeout: float = 5.0, pool_size: int = 2, max_overflow: int = 3) -> None:
        self.connect_timeout = connect_timeout
        self.pool_size = pool_size
        self.max_overflow = max_overflow
        self._engines: dict[tuple[int, str], tuple[str, Engine]] = {}
        self._lock = threading.Lock()

    def engine(self, source_id: int, side: str, spec: ConnectionSpec) -> Engine:
        key, fingerprint = (source_id, side), spec.fingerprint()
        with self._lock:
            current = self._engines.get(key)
            if current is not None and current[0] == fingerprint:
                return current[1]
            engine = create_engine(
                spec.url(),
                pool_size=self.pool_size,
                max_overflow=self.max_overflow,
                pool_pre_ping=True,
                pool_recycle=1800,
                connect_args=spec.connect_args(self.connect_timeout, bound_reads=False),
            )
            self._engines[key] = (fingerprint, engine)
        if current is not None:
            current[1].dispose()
        return engine

    def discard(self, source_id: int) -> None:
        """Dispose the pools of a source (after an update or a delete)."""
        with self._lock:
            keys = [k for k in self._engines if k[0] == source_id]
            gone = [self._engines.pop(k)[1] for k in keys]
        for engine in gone:
            engine.dispose()

    def close(self) -> None:
        with self._lock:
            gone = [e for _, e in self._engines.values()]
            self._engines.clear()
        for engine in gone:
            engine.dispose()
