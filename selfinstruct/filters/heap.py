"""Allocator tuning for the near-duplicate index's block filter (glibc only; elsewhere nothing changes)."""

from __future__ import annotations

import contextlib
import ctypes

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
