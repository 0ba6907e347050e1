"""Caches of what pure functions of strings answer, bounded in memory and not only in entries (every layer uses it).

``functools.lru_cache`` bounds its entries, but an entry's key is as long as the strings it
was called with: 16,384 stack lines of up to a stack's length each could hold hundreds of
megabytes. ``memo`` caches only calls whose strings are ``max_chars`` long at most,
together, and computes longer ones every time (they are rare: real stack lines, URLs and
messages are short). So a cache holds at most ``maxsize * max_chars`` characters of keys,
and answers that are built from them.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def memo(maxsize: int, max_chars: int) -> Callable[[Callable[..., T]], Callable[..., T]]:
    """``functools.lru_cache(maxsize)`` for a function of strings only, for calls of at most ``max_chars`` in all."""

    def wrap(fn: Callable[..., T]) -> Callable[..., T]:
        cached = functools.lru_cache(maxsize=maxsize)(fn)

        @functools.wraps(fn)
        def call(*args: str) -> T:
            return cached(*args) if sum(map(len, args)) <= max_chars else fn(*args)

        call.cache_clear = cached.cache_clear  # type: ignore[attr-defined]
        call.cache_info = cached.cache_info  # type: ignore[attr-defined]
        return call

    return wrap
