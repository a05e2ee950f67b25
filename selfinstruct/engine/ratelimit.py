"""Requests and tokens per minute (--rpm, --tpm) as token buckets, shared by every request of a client."""

from __future__ import annotations

import asyncio
import contextlib
import time


class RateLimiter:
    """Token buckets for requests and tokens per minute (a full minute's worth may burst)."""

    def __init__(self, rpm: float | None = None, tpm: float | None = None) -> None:
        self._buckets = [(float(limit or 1), [float(limit or 1)]) for limit in (rpm, tpm)]
        self._enabled = [limit is not None and limit > 0 for limit in (rpm, tpm)]
        self._last = time.monotonic()
        self._lock = asyncio.Lock()

    async def acquire(self, tokens: int, halt: asyncio.Event | None = None) -> None:
        """Wait until the request fits both buckets, and take it; return at once, taking nothing, once `halt` is
        set (the caller sends nothing then)."""
        if not any(self._enabled):
            return
        async with self._lock:
            while halt is None or not halt.is_set():
                now = time.monotonic()
                elapsed, self._last = now - self._last, now
                wait = 0.0
                for enabled, (limit, level), need in zip(
                    self._enabled, self._buckets, (1.0, float(tokens)), strict=True
                ):
                    if not enabled:
                        continue
                    level[0] = min(limit, level[0] + elapsed * limit / 60.0)
                    need = min(need, limit)  # a request larger than a minute's budget waits for a full bucket
                    if level[0] < need:
                        wait = max(wait, (need - level[0]) * 60.0 / limit)
                if wait <= 0:
                    for enabled, (_, level), need in zip(
                        self._enabled, self._buckets, (1.0, float(tokens)), strict=True
                    ):
                        if enabled:
                            level[0] -= need
                    return
                if halt is None:
                    await asyncio.sleep(wait)
                    continue
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(halt.wait(), wait)
