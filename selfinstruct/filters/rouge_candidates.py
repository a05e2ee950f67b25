"""Step 4 of the batch join (rouge_join) on the probing side: each chunk of texts' probe signatures screened by
the bitmap of signatures present, searched as ranges of the indexed keys, expanded to candidate tuples and pruned
by length, position and a 128-bit token-mask overlap bound; the survivors are the pairs rouge_join verifies.

The chunks are shared out among threads (one per core, `threads_for`): each takes the next chunk as it goes and
keeps its own pairs. numpy releases the GIL in the searches, gathers and sorts that are most of the time, and the
indexed side is only read, so the pairs are the same in any number of threads (only their order differs, and
rouge_join sorts them).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from selfinstruct.filters.rouge_keys import KeyLayout, KeySearch
from selfinstruct.filters.rouge_math import IntArray
from selfinstruct.filters.rouge_signatures import Elements, Signatures

_CHUNK_TUPLES = 1 << 18  # candidate (text, text) tuples expanded per step (a dozen arrays of this many)
_LEN_BITS = 20
MAX_LEN = (1 << _LEN_BITS) - 1  # tokens in a text; longer ones go to the incremental index (OverflowError)
_THREADED_CHUNKS = 4  # fewer chunks are probed in one thread
_MAX_THREADS = 4


@dataclass(frozen=True)
class Probing:
    """What probing a chunk of texts reads (step 4 onwards); nothing in it is written while threads probe."""

    el: Elements
    docs: IntArray
    long_prefix: IntArray
    levels: tuple[int, int]
    frequent: npt.NDArray[np.bool_] | None
    layout: KeyLayout
    seen: npt.NDArray[np.uint8]  # a bit per signature field present on the indexed side, folded by seen_mask
    seen_mask: int
    search: KeySearch
    s_key: IntArray
    bound: float
    first_new: int
    alpha_of: IntArray
    unmasked: npt.NDArray[np.int32]
    rows: npt.NDArray[np.void]
    chunk_docs: int  # texts whose probe signatures are made at once
    group_probes: int  # probes searched together, shared out among the threads


def probe_all(probing: Probing, threads: int, found: list[IntArray], progress: Callable[[int], object] | None) -> None:
    """Probe every chunk of texts, in `threads` threads that take the next chunk as they go (numpy releases the
    GIL in the searches and gathers that are most of the time), each appending its pairs to `found` (one append
    at a time under the GIL). Which thread probes which chunk changes only the order of `found`, which the caller
    sorts. An interrupt or
    an error stops every thread after its current chunk (no thread goes on probing after the join has failed)."""
    chunks = iter(range(0, len(probing.docs), probing.chunk_docs))
    take, report, stop = threading.Lock(), threading.Lock(), threading.Event()

    def next_chunk() -> int | None:
        with take:
            return None if stop.is_set() else next(chunks, None)

    def counted(k: int) -> None:
        if progress is not None:
            with report:
                progress(k)

    if threads == 1:
        _probe_chunks(probing, next_chunk, probing.group_probes, found, counted)
        return
    with ThreadPoolExecutor(threads, thread_name_prefix="rouge-join") as pool:
        runs = [pool.submit(_probe_chunks, probing, next_chunk, probing.group_probes // threads, found, counted)
                for _ in range(threads)]  # fmt: skip
        try:
            wait(runs, return_when=FIRST_EXCEPTION)
            stop.set()  # (all done, or one failed: the others stop after their chunk)
            for run in runs:
                run.result()
        except BaseException:
            stop.set()
            raise


def threads_for(n_docs: int, chunk_docs: int, workers: int) -> int:
    """Threads for probing n_docs texts in chunks of chunk_docs: `workers`, -1 for one per core this process may
    use (at most _MAX_THREADS); one for small joins, whose chunks are too few to share."""
    if n_docs < _THREADED_CHUNKS * chunk_docs or workers == 1:
        return 1
    if workers > 0:
        return workers
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cores = os.cpu_count() or 1
    return max(1, min(cores, _MAX_THREADS))


def _probe_chunks(
    probing: Probing,
    next_chunk: Callable[[], int | None],
    group_probes: int,
    found: list[IntArray],
    progress: Callable[[int], object],
) -> None:
    """Probe chunks of texts as next_chunk() hands them out, appending their pairs to `found` (see _join)."""
    p = probing
    el, layout, search, s_key, bound = p.el, p.layout, p.search, p.s_key, p.bound
    lens, rows, unmasked, alpha_of, seen = el.lens, p.rows, p.unmasked, p.alpha_of, p.seen
    seen_mask = p.seen_mask
    exact_len = layout.len_cap >= int(lens.max())  # the key's length field is the text's length
    len_shift = layout.shift
    ratio = bound / (2 - bound) if bound > 0 else 0.0
    group: tuple[list[IntArray], ...] = ([], [], [])  # range starts, ends, text|length of probes not yet searched
    held = probed = 0
    start = next_chunk()
    while start is not None:
        part = p.docs[start : start + p.chunk_docs]
        probed += int(np.count_nonzero(part >= p.first_new))
        probe = Signatures(el, part, p.long_prefix, p.levels, p.frequent)
        field = layout.field(probe.sig)
        # Signatures absent from the indexed side go first (about half of them), before any length arithmetic.
        folded = field & seen_mask
        order = np.flatnonzero((seen[folded >> 3] >> (folded & 7).astype(np.uint8)) & 1)
        field, p_doc, n_y, pos = field[order], probe.doc[order], probe.n[order], probe.pos[order]
        del probe, folded, order
        # The shorter text x: n_x in [n_lo, n_y] with 2 n_x > bound (n_x + n_y), and the y-side positional bound.
        n_lo = np.floor(ratio * n_y).astype(np.int64)
        if bound > 0:  # the smallest n_x that passes that float test itself (it holds for every larger n_x)
            n_lo += 2 * n_lo <= bound * (n_lo + n_y)
        n_hi = n_y if bound <= 0 else np.minimum(n_y, np.floor(2 * (n_y - pos) / bound - n_y).astype(np.int64))
        order = np.flatnonzero(n_hi >= n_lo)
        field, n_lo, n_hi, p_doc, n_y = field[order], n_lo[order], n_hi[order], p_doc[order], n_y[order]
        starts, ends = layout.probe(field, np.minimum(n_lo, layout.len_cap)), layout.probe(field, n_hi + 1)
        if exact_len:  # at y's own length the range ends before y: an equal pair once, never y with itself
            ends = np.where(n_hi < n_y, ends, layout.before(field, n_y, p_doc))
        for column, values in zip(group, (starts, ends, p_doc << _LEN_BITS | n_y), strict=True):
            column.append(values)
        held += len(order)
        del pos, order, field, n_lo, n_hi, starts, ends, p_doc, n_y
        start = next_chunk()
        if held < group_probes and start is not None:
            continue
        starts, ends, who = _grouped(group, search)
        held = 0
        lo, hi = search.ranges(starts, ends)
        del starts, ends
        count = np.maximum(hi - lo, 0)
        cum = np.cumsum(count)
        at = lo - (cum - count)  # a tuple's key position: at[its probe] + its number among all the tuples
        del lo, hi
        first = 0
        pieces: list[IntArray] = []
        while first < len(count):
            # Entries first..last expand to at most _CHUNK_TUPLES tuples (or one entry, however many).
            base = int(cum[first - 1]) if first else 0
            last = max(first + 1, int(np.searchsorted(cum, base + _CHUNK_TUPLES, "right")))
            c = count[first:last]
            # Key positions lo .. hi - 1 of each probe; each tuple also gets its probe's text and length.
            where = np.repeat(at[first:last], c)
            where += np.arange(base, base + len(where), dtype=np.int64)
            x_key = s_key[where]
            probe_of = np.repeat(who[first:last], c)
            del where
            # Length and positional filters from the key alone (no gather of the indexed texts' lengths). With
            # exact lengths in the keys, the range holds only n_lo <= n_x <= n_hi <= n_y: the length filter.
            nx = (x_key >> len_shift) & layout.len_cap if exact_len else lens[layout.doc(x_key)]
            ny = probe_of & MAX_LEN
            both = nx + ny
            ok = x_key & layout.pos_max <= nx - alpha_of[both]
            if not exact_len:
                ok &= (nx <= ny) & (2 * nx > bound * both)
            hit = np.flatnonzero(ok)
            x, y, alpha = layout.doc(x_key[hit]), probe_of[hit] >> _LEN_BITS, alpha_of[both[hit]]
            del x_key, probe_of, nx, ny, both, ok, hit
            # The token-mask overlap bound: tokens of one text missing from the other's mask are not shared.
            # (popcount(mx & ~my) = popcount(mx) - popcount(mx & my): two popcounts per tuple, not four.)
            # Each text's two halves gathered as one 16-byte item (rows of the 2-D array gathered 4x slower).
            mx, my = rows[x].view(np.uint64), rows[y].view(np.uint64)
            mx &= my
            both_halves = np.bitwise_count(mx)
            common = both_halves[0::2] + both_halves[1::2]
            ok = np.minimum(unmasked[x], unmasked[y]) + common >= alpha
            if not exact_len:  # clamped lengths: the ranges hold y itself and both orders of equal pairs
                ok &= x != y
            if p.first_new:
                ok &= np.maximum(x, y) >= p.first_new
            x, y = x[ok], y[ok]
            if len(x):
                pieces.append(np.minimum(x, y) << 32 | np.maximum(x, y))
            first = last
        if pieces:  # a pair is found once per signature it shares: kept once (a sort is cheaper than np.unique)
            pairs = np.concatenate(pieces)
            pairs.sort()
            found.append(pairs[np.concatenate(([True], pairs[1:] != pairs[:-1]))])
        if probed:
            progress(probed)
        probed = 0


def _grouped(group: tuple[list[IntArray], ...], search: KeySearch) -> list[IntArray]:
    """The probes of several chunks (columns: range starts, range ends, text and length), each column as one
    array in the order that KeySearch reads fastest (by part of the keys), the chunks' arrays freed as it goes
    (this is the join's peak at a million texts). Only the order changes: the pairs are sorted afterwards."""
    out: list[IntArray] = []
    order = None
    for column in group:
        joined = np.concatenate(column)
        column.clear()
        if order is None:
            order = search.by_part(joined)
        out.append(joined[order])
        del joined
    return out
