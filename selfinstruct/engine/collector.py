"""The garbage collector while requests are in flight: fewer and shorter collections, so the event loop answers.

CPython collects its youngest generation every 700 allocations, and every so often walks every object the
process holds. A run allocates fast (each request builds and parses SDK, httpx/aiohttp and pydantic objects), so
at concurrency 128 the collector took 1.3 s of the client's 9.4 s of CPU (2,560 tasks), and each full collection
walked the ~100k objects of the imported modules and held the event loop 60-90 ms while every reply in flight
waited. During a run, what existed before it (modules, seeds, settings) is frozen out of the collector's walks
(`gc.freeze`), and a young collection waits for 10,000 allocations: 0.24 s in the same run. Both are undone when
the run ends, so nothing is kept that would have been collected, only later.
"""

from __future__ import annotations

import contextlib
import gc
import threading
from collections.abc import Iterator

YOUNG_THRESHOLD = 10_000  # allocations between collections of the youngest generation (CPython's default: 700)

_lock = threading.Lock()
_runs = 0  # runs under way in this process (threads may run their own)
_saved: tuple[tuple[int, int, int], bool] = ((700, 10, 10), False)  # the settings the first run found; it froze


@contextlib.contextmanager
def steady_collector() -> Iterator[None]:
    """Freeze what exists now and collect the young generation less often, until the block ends; with several
    runs at once (threads), from the first one's start to the last one's end. A process that froze objects itself
    (gc.get_freeze_count() > 0) keeps its own freeze: then only the threshold changes."""
    global _runs, _saved
    with _lock:
        if _runs == 0:
            threshold = gc.get_threshold()
            _saved = (threshold, gc.get_freeze_count() == 0)
            if _saved[1]:
                gc.freeze()
            gc.set_threshold(max(threshold[0], YOUNG_THRESHOLD), *threshold[1:])
        _runs += 1
    try:
        yield
    finally:
        with _lock:
            _runs -= 1
            if _runs == 0:
                gc.set_threshold(*_saved[0])
                if _saved[1]:
                    gc.unfreeze()
