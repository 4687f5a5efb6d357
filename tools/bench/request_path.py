"""CPU of one API request along the server's whole ASGI path, and what each part of it costs.

Issues 14 and 15: one API process must serve >= 2,000 GetTask/s (PostgreSQL) and >= 300 req/s of
the mixed load on one core, so what the process spends per request, outside the handler too,
decides both. mixed.py measures that end to end on a shared machine (its figures move ~2x run to
run); this measures the same path in process, with no network and no other load, so that the
figures are comparable run to run.

It builds the server's runtime and app (``app.build_runtime``, ``app.create_app``; no engine,
no rate limit) on SQLite or a scratch PostgreSQL database, creates a project, a workflow and a
task, then sends ``--requests`` TC3-signed GetTask requests sequentially straight into the ASGI
app (the top-level router, the TC3 check, the action, the JSON answer; not uvicorn's HTTP
parsing or the socket), and reports the process CPU (``time.process_time``: every thread) per
request:

  handler   ``ApiEndpoint._serve`` alone (decoding, authorization, the action, encoding)
  inline    the ASGI path with the handler run on the event loop (``api_threads=0``)
  pool      the ASGI path with the handler on the server's handler threads (``--threads``, the
            server's default for the backend when omitted): the difference to ``inline`` is
            the hand-off to a thread and back (a queue put that wakes a thread, the GIL passed
            both ways, the loop woken through its self-pipe).

``--profile`` prints cProfile's top functions of the inline case (tottime and cumulative).

Usage: ``python tools/bench/request_path.py [--backend sqlite|postgres] [--requests 2000] [--threads 4] [--profile]``
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import cProfile
import hashlib
import json
import pstats
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))

from tests.support import PG_URL, create_pg_database, drop_pg_database  # noqa: E402
from wedata.app import build_runtime, create_app  # noqa: E402
from wedata.config import Settings  # noqa: E402
from wedata.principal import Caller  # noqa: E402
from wedata.protocol.context import RequestContext  # noqa: E402
from wedata.protocol.params import decode_json  # noqa: E402
from wedata.protocol.signing import format_tc3_authorization, tc3_signature  # noqa: E402
from wedata.spec import VERSION  # noqa: E402

SECRET_ID, SECRET_KEY, UIN = "AKIDBENCHPATH000000000000000000000001", "bench-path-key", "100000000001"
SIGNED = ["content-type", "host"]  # what the SDK signs, with the values as sent


class Harness:
    """One runtime and app; requests go straight into the ASGI callable."""

    def __init__(self, settings: Settings) -> None:
        self.runtime = build_runtime(settings)
        if self.runtime.credentials.lookup(SECRET_ID) is None:  # the second case reuses the home
            self.runtime.credentials.create(UIN, secret_id=SECRET_ID, secret_key=SECRET_KEY, is_admin=True)
        self.app = create_app(settings, self.runtime)
        self.routes = self.runtime.endpoint.versions[VERSION].routes
        self.caller = Caller(SECRET_ID, UIN, True)

    def serve(self, action: str, params: dict[str, Any]) -> dict[str, Any]:
        """The handler path alone (what a handler thread runs)."""
        route = self.routes[action]
        body = json.dumps(params).encode()
        ctx = RequestContext(action=action, version=VERSION, request_id="bench", caller=self.caller)
        answer = json.loads(self.runtime.endpoint._serve(route, ctx, lambda: decode_json(body, route.request_type)))
        return dict(answer["Response"])

    def close(self) -> None:
        self.runtime.endpoint.close()
        self.runtime.db.dispose()


def signed(action: str, params: dict[str, Any]) -> tuple[dict[str, Any], bytes]:
    """An ASGI scope and body as the SDK sends them (TC3-HMAC-SHA256, JSON; the SDK signs the raw
    header values, so the server checks one signature, not the lower-cased form too)."""
    body = json.dumps(params).encode()
    ts = str(int(time.time()))
    date = datetime.fromtimestamp(int(ts), UTC).strftime("%Y-%m-%d")
    headers = {"content-type": "application/json", "host": "wedata.tencentcloudapi.com"}
    signature = tc3_signature(secret_key=SECRET_KEY, method="POST", query="", headers=headers, signed_headers=SIGNED,
                              payload_hash=hashlib.sha256(body).hexdigest(), timestamp=ts, date=date,
                              lower_values=False)
    raw = [(b"content-type", headers["content-type"].encode()), (b"host", headers["host"].encode()),
           (b"x-tc-action", action.encode()), (b"x-tc-version", VERSION.encode()), (b"x-tc-timestamp", ts.encode()),
           (b"x-tc-region", b"ap-guangzhou"), (b"content-length", str(len(body)).encode()),
           (b"authorization", format_tc3_authorization(SECRET_ID, date, SIGNED, signature).encode())]
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
             "path": "/", "raw_path": b"/", "query_string": b"", "root_path": "", "headers": raw,
             "client": ("127.0.0.1", 40000), "server": ("127.0.0.1", 80)}
    return scope, body


async def send_all(app: Any, requests: list[tuple[dict[str, Any], bytes]], profile: cProfile.Profile | None) -> float:
    """CPU ms per request of sending them one after another (after a warm-up with the first 500)."""

    async def one(scope: dict[str, Any], body: bytes) -> bytes:
        sent: list[dict[str, Any]] = []

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        await app(scope, receive, send)
        payload = bytes(sent[-1]["body"])
        if b'"Error"' in payload:
            raise SystemExit(f"the request failed: {payload[:300]!r}")
        return payload

    for scope, body in requests[: min(500, len(requests))]:  # warm up
        await one(scope, body)
    cpu0 = time.process_time()
    if profile is not None:
        profile.enable()
    for scope, body in requests:
        await one(scope, body)
    if profile is not None:
        profile.disable()
    return (time.process_time() - cpu0) / len(requests) * 1000


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    ap.add_argument("--requests", type=int, default=2000)
    ap.add_argument("--threads", type=int, default=None, help="handler threads of the pool case (default: the server's)")
    ap.add_argument("--profile", action="store_true", help="print cProfile's top functions of the inline case")
    args = ap.parse_args()

    home = Path(tempfile.mkdtemp(prefix="wedata-bench-path-"))
    db_name = create_pg_database() if args.backend == "postgres" else None
    url = f"{PG_URL}/{db_name}" if db_name else None
    try:
        base = Settings(home=home / "home", database_url=url, scheduler_enabled=False, rate_limit=0)
        pool_threads = args.threads if args.threads is not None else base.api_thread_count
        results: dict[str, float] = {}
        for case, threads in (("inline", 0), ("pool", pool_threads)):
            h = Harness(base.with_overrides(api_threads=threads))
            try:
                if case == "inline":
                    project = h.serve("CreateProject", {"Project": {"ProjectName": "bench_path",
                                                                    "DisplayName": "bench"}})["Data"]["ProjectId"]
                    workflow = h.serve("CreateWorkflow", {"ProjectId": project, "WorkflowName": "wf",
                                                          "ParentFolderPath": "/"})["Data"]["WorkflowId"]
                    task = h.serve("CreateTask", {
                        "ProjectId": project,
                        "TaskBaseAttribute": {"TaskName": "t", "TaskTypeId": "35", "WorkflowId": workflow},
                        "TaskConfiguration": {"CodeContent": base64.b64encode(b"echo bench").decode()},
                        "TaskSchedulerConfiguration": {"CycleType": "DAY_CYCLE", "CrontabExpression": "0 0 1 * * ? *"},
                    })["Data"]["TaskId"]
                    params = {"ProjectId": project, "TaskId": task}
                    for _ in range(min(500, args.requests)):  # warm up (statement caches, pool)
                        h.serve("GetTask", params)
                    cpu0 = time.process_time()
                    for _ in range(args.requests):
                        h.serve("GetTask", params)
                    results["handler"] = (time.process_time() - cpu0) / args.requests * 1000
                requests = [signed("GetTask", params) for _ in range(args.requests)]
                # Profiled inline: cProfile sees only its own thread, and inline the handler runs on it.
                profile = cProfile.Profile() if args.profile and case == "inline" else None
                results[case] = asyncio.run(send_all(h.app, requests, profile))
                if profile is not None:
                    pstats.Stats(profile).sort_stats("tottime").print_stats(30)
                    pstats.Stats(profile).sort_stats("cumulative").print_stats(45)
            finally:
                h.close()
        print(f"GetTask, {args.backend}, {args.requests} requests one after another; CPU ms a request (all threads):")
        print(f"  handler alone (_serve)          {results['handler']:.3f}")
        print(f"  ASGI path, handler inline       {results['inline']:.3f}  "
              f"(+{results['inline'] - results['handler']:.3f}: routing, TC3, envelope)")
        print(f"  ASGI path, {pool_threads} handler threads     {results['pool']:.3f}  "
              f"(+{results['pool'] - results['inline']:.3f}: the hand-off to a thread and back)")
        return 0
    finally:
        shutil.rmtree(home, ignore_errors=True)
        if db_name:
            drop_pg_database(db_name)


if __name__ == "__main__":
    raise SystemExit(main())
