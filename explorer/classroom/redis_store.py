"""The Redis backend of the class store, so that several app replicas share their classes.

Chosen by ``EXPLORER_REDIS_URL`` (for example ``redis://10.0.0.5:6379/0``). Every call is
short and bounded: a second to connect or answer, one retry (a pooled connection is
dead after Redis restarts, and the retry makes a new one, so new classes work again as
soon as Redis is back). After a failure the store answers ``StoreUnavailable`` at once
for ``PAUSE_S`` seconds instead of making every follower's poll wait for a timeout.

Announcements go through one Redis channel (``PUBLISH``); each replica that listens has one
thread subscribed to it, which comes back by itself after Redis was down.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from explorer.classroom.store import StoreUnavailable, tell

TIMEOUT_S = 1.0
PAUSE_S = 3.0
CHANNEL = "explorer:class:changes"
_FAILURES = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, OSError)


def _ms(ttl_s: float) -> int:
    return max(1, int(ttl_s * 1000))


class RedisStore:
    """``explorer.classroom.store.Store`` on a Redis server (values are strings, sets are sorted sets)."""

    def __init__(self, url: str) -> None:
        self.client = redis.Redis.from_url(
            url, socket_timeout=TIMEOUT_S, socket_connect_timeout=TIMEOUT_S,
            retry=Retry(NoBackoff(), 1), retry_on_timeout=False, health_check_interval=30,
        )
        self._down_until = 0.0
        self._lock = threading.Lock()
        self._listeners: list[Callable[[str], None]] = []
        self._hearing: threading.Thread | None = None
        self._subscribed = threading.Event()

    def _call(self, work: Callable[[redis.Redis], object]):
        if time.monotonic() < self._down_until:
            raise StoreUnavailable()
        try:
            return work(self.client)
        except _FAILURES as error:
            with self._lock:
                self._down_until = time.monotonic() + PAUSE_S
            raise StoreUnavailable() from error

    def add(self, key: str, value: bytes, ttl_s: float) -> bool:
        return bool(self._call(lambda r: r.set(key, value, px=_ms(ttl_s), nx=True)))

    def put(self, key: str, value: bytes, ttl_s: float) -> None:
        self._call(lambda r: r.set(key, value, px=_ms(ttl_s)))

    def get_many(self, keys: list[str]) -> list[bytes | None]:
        return list(self._call(lambda r: r.mget(keys)))

    def update(self, key: str, change: Callable[[bytes | None], bytes | None], ttl_s: float) -> bytes | None:
        def transaction(r: redis.Redis) -> bytes | None:
            with r.pipeline() as pipe:
                while True:
                    try:
                        pipe.watch(key)
                        new = change(pipe.get(key))
                        if new is None:
                            pipe.unwatch()
                            return None
                        pipe.multi()
                        pipe.set(key, new, px=_ms(ttl_s))
                        pipe.execute()
                        return new
                    except redis.exceptions.WatchError:  # someone wrote in between: read again
                        continue

        return self._call(transaction)

    def delete(self, keys: Iterable[str]) -> None:
        keys = list(keys)
        if keys:
            self._call(lambda r: r.delete(*keys))

    def expire(self, keys: Iterable[str], ttl_s: float) -> None:
        def refresh(r: redis.Redis) -> None:
            pipe = r.pipeline(transaction=False)
            for key in keys:
                pipe.pexpire(key, _ms(ttl_s))
            pipe.execute()

        self._call(refresh)

    def beat(self, key: str, member: str, when: float, ttl_s: float) -> None:
        def write(r: redis.Redis) -> None:
            pipe = r.pipeline(transaction=True)
            pipe.zadd(key, {member: when})
            pipe.pexpire(key, _ms(ttl_s))
            pipe.execute()

        self._call(write)

    def drop(self, key: str, member: str) -> None:
        self._call(lambda r: r.zrem(key, member))

    def count_since(self, key: str, since: float) -> int:
        def count(r: redis.Redis) -> int:
            pipe = r.pipeline(transaction=True)
            pipe.zremrangebyscore(key, "-inf", f"({since!r}")
            pipe.zcard(key)
            return int(pipe.execute()[1])

        return self._call(count)

    def announce(self, message: str) -> None:
        try:
            self._call(lambda r: r.publish(CHANNEL, message))
        except StoreUnavailable:  # the followers' polls find the change instead
            pass

    def listen(self, callback: Callable[[str], None]) -> None:
        self._listeners.append(callback)
        with self._lock:
            if self._hearing is None:
                self._hearing = threading.Thread(target=self._hear, name="class-announcements", daemon=True)
                self._hearing.start()
        self._subscribed.wait(TIMEOUT_S)  # so that the next change is heard (unless Redis is down)

    def _hear(self) -> None:
        """The listening thread: subscribe, hand every message on; after a failure, wait and subscribe anew."""
        while True:
            try:
                with self.client.pubsub(ignore_subscribe_messages=True) as channel:
                    channel.subscribe(CHANNEL)
                    channel.get_message(timeout=TIMEOUT_S)  # Redis confirms the subscription
                    self._subscribed.set()
                    while True:
                        # A bounded wait (not the connection's one-second read timeout) while nothing is said.
                        message = channel.get_message(timeout=30.0)
                        if message is not None and message.get("type") == "message":
                            tell(self._listeners, message["data"].decode("utf-8", "replace"))
            except Exception:  # Redis down or restarted, or anything else: this thread serves every listener
                time.sleep(PAUSE_S)
