"""Per-credential limits: a request rate per action (token bucket, as WeData documents: 20
requests/s) and a bound on the requests a credential has in flight at once.

The in-flight bound is what keeps one client from taking the whole handler pool: a credential
that already has ``max_inflight`` requests being served gets ``RequestLimitExceeded`` at once
(after its signature is checked, before its body is decoded) instead of queueing more work
ahead of everyone else's. Every ``enter`` is paired with one ``leave`` by the endpoint, whatever
the outcome of the request.
"""

from __future__ import annotations

import threading
import time


class RateLimiter:
    """``allow(key)`` takes one token from the key's bucket; ``rate`` 0 disables limiting.
    ``enter``/``leave`` count a credential's requests in flight; ``max_inflight`` 0 disables it."""

    def __init__(self, rate: float, burst: float | None = None, max_inflight: int = 0) -> None:
        self.rate = rate
        self.burst = burst if burst is not None else rate
        self.max_inflight = max_inflight
        self._buckets: dict[tuple[str, str], tuple[float, float]] = {}
        self._inflight: dict[str, int] = {}
        self._lock = threading.Lock()

    def allow(self, secret_id: str, action: str, now: float | None = None) -> bool:
        if self.rate <= 0:
            return True
        now = time.monotonic() if now is None else now
        key = (secret_id, action)
        with self._lock:
            tokens, last = self._buckets.get(key, (self.burst, now))
            tokens = min(self.burst, tokens + (now - last) * self.rate)
            if tokens < 1.0:
                self._buckets[key] = (tokens, now)
                return False
            self._buckets[key] = (tokens - 1.0, now)
            return True

    def exhausted(self, secret_id: str, action: str, now: float | None = None) -> bool:
        """Whether ``allow`` would refuse now, without taking a token (the endpoint asks before
        reading a body, with the SecretId the request claims: a claim cannot spend a bucket)."""
        if self.rate <= 0:
            return False
        now = time.monotonic() if now is None else now
        got = self._buckets.get((secret_id, action))
        return got is not None and got[0] + (now - got[1]) * self.rate < 1.0

    def enter(self, secret_id: str) -> bool:
        """Count one more request in flight for the credential; False (nothing counted) when it
        already has ``max_inflight``."""
        with self._lock:
            n = self._inflight.get(secret_id, 0)
            if self.max_inflight > 0 and n >= self.max_inflight:
                return False
            self._inflight[secret_id] = n + 1
            return True

    def leave(self, secret_id: str) -> None:
        with self._lock:
            n = self._inflight.get(secret_id, 0) - 1
            if n > 0:
                self._inflight[secret_id] = n
            else:
                self._inflight.pop(secret_id, None)

    def inflight(self, secret_id: str) -> int:
        return self._inflight.get(secret_id, 0)
