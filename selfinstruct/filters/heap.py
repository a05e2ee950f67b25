"""Memory management for the near-duplicate index: allocator tuning (glibc only; elsewhere nothing changes), small
pages for the join's arrays, and the cyclic garbage collector held off while a whole file is decided."""

from __future__ import annotations

import contextlib
import ctypes
import gc
import importlib
import os
from collections.abc import Callable, Iterator

_M_TOP_PAD = -2  # glibc mallopt parameter

_heap_retained = False


def retain_heap() -> None:
    """Ask glibc to keep 64 MiB at the top of the heap when it trims.

    Each block allocates and frees a few arrays of about a megabyte. With glibc's default trim threshold
    (128 KiB) the heap shrinks after every block and grows again in the next, page-faulting the same memory in
    each time: at 50k instructions that was 1.5M page faults and a third of the run in the kernel. Keeping
    the pad costs at most 64 MiB of address space. Elsewhere (not glibc) nothing is changed."""
    global _heap_retained
    if _heap_retained:
        return
    _heap_retained = True
    with contextlib.suppress(OSError, AttributeError, TypeError):  # not glibc: leave the allocator alone
        ctypes.CDLL(None).mallopt(_M_TOP_PAD, 64 << 20)


_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_M_ARENA_MAX = -8
_HELD = 1 << 30  # both thresholds inside reused_heap: no array of the join is mapped and unmapped on its own
_MMAP_AFTER = 32 << 20  # glibc's own ceiling for its dynamic mmap threshold (64-bit)


@contextlib.contextmanager
def reused_heap() -> Iterator[None]:
    """Inside: large arrays come from the heap and what is freed stays there for the next ones (glibc only).

    With glibc's defaults every array over 32 MiB is mapped and unmapped on its own, and every new one is
    page-faulted in again; on this project's VM (memory given back to the host after a few seconds) that was
    most of the batch join's system time and a third of its Elements step at a million texts. On exit the
    defaults' ceiling comes back and the heap's free top is given back (the join's peak is not kept).

    The join's threads share that one heap (one arena): each thread's own arena kept what it freed on top of
    the main heap's (60 MiB more at 200,000 texts with two threads). On exit glibc's default limit comes back
    (8 arenas per core; glibc cannot be told "unset")."""
    try:
        libc = ctypes.CDLL(None)
        libc.mallopt(_M_MMAP_THRESHOLD, _HELD)
        libc.mallopt(_M_TRIM_THRESHOLD, _HELD)
        libc.mallopt(_M_ARENA_MAX, 1)
    except (OSError, AttributeError, TypeError):  # not glibc: leave the allocator alone
        yield
        return
    try:
        yield
    finally:
        libc.mallopt(_M_MMAP_THRESHOLD, _MMAP_AFTER)
        libc.mallopt(_M_TRIM_THRESHOLD, 2 * _MMAP_AFTER)
        libc.mallopt(_M_ARENA_MAX, 8 * (os.cpu_count() or 1))
        libc.malloc_trim(0)


@contextlib.contextmanager
def paused_collector() -> Iterator[None]:
    """Inside: Python's cyclic garbage collector does not run; on exit it is as it was (enabled or not).

    Deciding a whole file makes a few hundred thousand small objects that stay alive (matches, rejections, the
    tuples behind them) and none that form a reference cycle. Each time such survivors grow by a quarter, the
    collector walks every live object: at a million instructions 7 full passes, 1.4-1.9 s of CPU, against 2
    (0.1 s) at 200,000, the fastest-growing cost of the filter outside the join. Nothing inside makes a cycle
    (an exception's traceback may: the collector finds it once it runs again)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _huge_page_switch() -> Callable[[bool], bool] | None:
    """numpy's switch for madvise(MADV_HUGEPAGE) on new large arrays (it returns the previous setting), or None
    where this numpy has none."""
    for module in ("numpy._core.multiarray", "numpy.core.multiarray"):  # numpy 2, numpy 1
        with contextlib.suppress(ImportError):
            switch = getattr(importlib.import_module(module), "_set_madvise_hugepage", None)
            if callable(switch):
                return switch  # type: ignore[no-any-return]
    return None


@contextlib.contextmanager
def small_pages() -> Iterator[None]:
    """Inside: numpy does not ask for transparent huge pages for new arrays; on exit its setting comes back.

    numpy asks for them on every array of 4 MB or more. On this project's VM a fresh huge page costs far more
    than its 512 small pages: the join's Elements step at a million texts took 1.5-1.7 s of system time for
    them (0.13 s at 200,000), 0.14 s with small pages, and the join's random reads of its 100 MB of keys were
    no faster on huge pages."""
    switch = _huge_page_switch()
    before = switch(False) if switch is not None else None
    try:
        yield
    finally:
        if switch is not None and before is not None:
            switch(before)
