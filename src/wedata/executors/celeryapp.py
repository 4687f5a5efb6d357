"""The Celery application both sides build: broker, delivery guarantees, the end announcements.

Delivery (docs/workers.md): a message is acknowledged only after its attempt has ended
(``task_acks_late``; ``task_reject_on_worker_lost`` for pools with child processes), and a
worker prefetches no more messages than it has slots (``worker_prefetch_multiplier`` 1 with
late acknowledgement), so a message never waits inside a worker that is busy. A message of a
worker that dies is delivered again (RabbitMQ at once, Redis after the visibility timeout);
that is harmless, because a run starts only by inserting its ``remote_runs`` row (a second
delivery finds it and is dropped). Results go through the database, not a result backend.

Ends: a worker announces each end it has recorded on a fanout exchange (``wedata.ends``;
a PUBLISH on Redis, a fanout exchange on RabbitMQ); every engine listens on a queue of its own
and reads the database for the attempts it watches. The announcement only saves the engine its
poll interval: a lost one is found by the next poll.
"""

from __future__ import annotations

from typing import Any

from celery import Celery
from kombu import Exchange, Queue
from kombu.transport import redis as kombu_redis
from kombu.transport import virtual

from wedata.executors.remote import ENDS_EXCHANGE


class _RedisQoS(kombu_redis.QoS):  # type: ignore[misc]
    """kombu's Redis QoS, except that an acknowledgement (or rejection) that fails because Redis
    is unreachable still releases the message's prefetch place in this worker.

    kombu forgets a delivered message locally only after Redis confirmed the ack; when Redis is
    down at that moment (restarted), the message stays counted against the prefetch limit
    forever, and a worker whose slots all ended during the outage never takes a message again
    (tests/executors/test_broker_faults.py). Forgetting it is safe: if Redis still holds the
    message in its unacknowledged set, it is delivered again after the visibility timeout and
    dropped by the worker's claim (the attempt has ended)."""

    def ack(self, delivery_tag: Any) -> None:
        try:
            super().ack(delivery_tag)
        except Exception:
            virtual.QoS.ack(self, delivery_tag)
            raise

    def reject(self, delivery_tag: Any, requeue: bool = False) -> None:
        try:
            super().reject(delivery_tag, requeue=requeue)
        except Exception:
            virtual.QoS.ack(self, delivery_tag)  # a message Redis lost cannot be requeued: the engine resends it
            raise


class _RedisChannel(kombu_redis.Channel):  # type: ignore[misc]
    QoS = _RedisQoS


class RedisTransport(kombu_redis.Transport):  # type: ignore[misc]
    """``redis://`` brokers: kombu's transport with :class:`_RedisQoS`."""

    Channel = _RedisChannel


def make_app(broker_url: str, *, visibility_timeout: float = 300.0) -> Celery:
    app = Celery("wedata", broker=broker_url, set_as_current=False)
    if broker_url.split("://", 1)[0] == "redis":
        app.conf.broker_transport = RedisTransport
    app.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_serializer="json",
        accept_content=["json"],
        task_ignore_result=True,
        task_create_missing_queues=True,
        broker_connection_retry_on_startup=True,
        # After a reconnection with attempts still running, Celery lowers the prefetch count and
        # raises it again from the callback of each acknowledgement, which runs in the pool
        # thread that finished the task: a ``basic.qos`` on the consumer's py-amqp connection
        # from a second thread while the event loop reads it. The two threads then share the
        # socket's frames, and now and then both wait for good: the worker stays connected and
        # consumes nothing more (tests/executors/test_broker_faults.py, RabbitMQ; docs/workers.md,
        # "Faults"). Without the reduction a worker prefetches its slots at once after a
        # reconnection; a message taken while an earlier attempt still runs waits in the pool.
        worker_enable_prefetch_count_reduction=False,
        broker_transport_options={
            "visibility_timeout": visibility_timeout,
            "fanout_prefix": True,
            "fanout_patterns": True,
        },
        # Kill requests and liveness go through the database (executors/worker.py): no pidbox.
        worker_enable_remote_control=False,
        worker_send_task_events=False,
        worker_hijack_root_logger=False,
        worker_redirect_stdouts=False,
    )
    return app


def ends_exchange() -> Exchange:
    return Exchange(ENDS_EXCHANGE, type="fanout", durable=False, auto_delete=False)


def ends_queue(name: str) -> Queue:
    """An engine's own queue of end announcements (gone with its connection)."""
    return Queue(name, exchange=ends_exchange(), routing_key="ends", durable=False, auto_delete=True,
                 exclusive=True)


def announce_end(app: Celery, execution_id: int) -> None:
    """Tell the engines that this attempt's end is in the database (best effort)."""
    exchange = ends_exchange()
    with app.producer_or_acquire() as producer:
        producer.publish({"execution_id": execution_id}, exchange=exchange, routing_key="ends",
                         declare=[exchange], serializer="json", retry=False)


def describe(app: Celery) -> dict[str, Any]:
    """The broker, without its password (for log lines)."""
    return {"broker": app.connection_for_write().as_uri(include_password=False)}
