"""Validated tokens remembered for a while, so most requests cost no Keystone call."""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Generic, TypeVar

__all__ = ["TokenCache"]

T = TypeVar("T")


class TokenCache(Generic[T]):
    """A bounded, thread-safe map from token to value, each entry with its own deadline.

    Keys are SHA-256 digests, so the cache never holds a bearer token itself. When full,
    the least recently used entry goes: a flood of distinct tokens costs Keystone calls,
    never memory. ``clock`` is wall-clock seconds because deadlines come from Keystone's
    absolute ``expires_at``.
    """

    def __init__(self, max_entries: int = 10_000,
                 clock: Callable[[], float] = time.time) -> None:
        self.max_entries = max_entries
        self.clock = clock
        self._entries: OrderedDict[bytes, tuple[float, T]] = OrderedDict()
        self._lock = threading.Lock()

    @staticmethod
    def _key(token: str) -> bytes:
        return hashlib.sha256(token.encode()).digest()

    def get(self, token: str) -> T | None:
        key = self._key(token)
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            deadline, value = entry
            if self.clock() >= deadline:
                del self._entries[key]
                return None
            self._entries.move_to_end(key)
            return value

    def put(self, token: str, value: T, deadline: float) -> None:
        """Remember ``value`` until ``deadline`` (a no-op for a deadline already past)."""
        if deadline <= self.clock() or self.max_entries <= 0:
            return
        key = self._key(token)
        with self._lock:
            self._entries[key] = (deadline, value)
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)
