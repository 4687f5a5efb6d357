"""The engine's side of a worker that died holding a message it had not taken (issue 14, "Faults";
docs/workers.md, "Faults"): the broker delivered the message, the worker was killed before its
claim. On Redis the message is then gone with the worker, or unacknowledged until the visibility
timeout (minutes). The engine's Celery executor (real, in process, on a real database and the
real Redis) must send the attempt again once the worker's lease has run out, and only for a
worker that is dead.

The test plays the dead worker the way a killed one leaves things: it registers a worker row for
the group (as ``wedata worker`` does), pops the message off the group's Redis list (what the
worker's transport does) and then neither claims it nor beats again. A second group's worker
keeps beating and is left alone: its message, popped the same way, is not sent again (its own
worker would still take it).
"""

from __future__ import annotations

import threading
import time
import uuid
from pathlib import Path

import redis

from tests.executors.celery_support import REDIS_URL, require_broker
from tests.scheduler.helpers import new_db
from wedata.executors.celery import CeleryExecutor
from wedata.executors.remote import queue_name
from wedata.storage.remote_runs import RemoteRunStore

LEASE = 1.0


def test_an_attempt_a_dead_worker_received_but_never_took_is_sent_again_after_the_lease(tmp_path: Path) -> None:
    require_broker(6379, "Redis")
    db, cleanup = new_db(tmp_path, "sqlite")
    store = RemoteRunStore(db)
    dead_group, alive_group = (f"g{uuid.uuid4().hex[:12]}" for _ in range(2))
    store.register_worker("w-dead", "host-a", 101, [dead_group], 1, "none")
    store.register_worker("w-alive", "host-b", 102, [alive_group], 1, "none")
    beating = threading.Event()
    beating.set()

    def beat() -> None:  # the live worker's heartbeat
        while beating.is_set():
            store.heartbeat("w-alive")
            time.sleep(0.2)

    beater = threading.Thread(target=beat, daemon=True)
    beater.start()
    client = redis.Redis.from_url(REDIS_URL, socket_timeout=30)
    executor = CeleryExecutor(store, REDIS_URL, lease=LEASE, poll_interval=0.2)
    executor.start(lambda _eid, _code: None)
    try:
        queues = {41: queue_name(dead_group), 42: queue_name(alive_group)}
        for eid, queue in queues.items():
            assert executor.attach(eid, {"token": f"token-{eid}", "queue": queue})
        # Each worker's transport takes its message off the list, then the first worker dies.
        for queue in queues.values():
            assert client.brpop([queue], timeout=10) is not None, queue
        started = time.monotonic()
        again = client.brpop([queues[41]], timeout=10)
        waited = time.monotonic() - started
        assert again is not None, "the dead worker's attempt was not sent again"
        assert b"token-41" in again[1]
        assert waited < LEASE + 3, waited  # the lease and a look or two, not the visibility timeout
        # The live worker's attempt stays with it, and the dead one's is sent again only once.
        assert client.brpop([queues[42], queues[41]], timeout=3 * LEASE) is None
    finally:
        executor.close()
        beating.clear()
        beater.join(2)
        client.delete(*[queue_name(g) for g in (dead_group, alive_group)])
        client.close()
        db.dispose()
        cleanup()
