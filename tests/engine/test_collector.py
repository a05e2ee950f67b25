"""The garbage collector during a run (engine/collector.py): what existed before is frozen out of its walks and
the young generation is collected less often, then everything is as it was."""

from __future__ import annotations

import gc
import threading
import weakref

from selfinstruct.engine import aio
from selfinstruct.engine.collector import YOUNG_THRESHOLD, steady_collector


def _state() -> tuple[tuple[int, int, int], bool]:
    """The threshold, and whether anything is frozen (the frozen count itself falls as frozen objects are freed)."""
    return gc.get_threshold(), gc.get_freeze_count() > 0


def test_a_run_freezes_what_existed_and_collects_less_often_then_restores_both() -> None:
    before = _state()
    assert not before[1]  # (pytest itself freezes nothing)

    async def inside() -> tuple[tuple[int, int, int], bool]:
        return _state()

    threshold, frozen = aio.run(inside())
    assert threshold[0] == max(before[0][0], YOUNG_THRESHOLD) and threshold[1:] == before[0][1:]
    assert frozen
    assert _state() == before


def test_a_freeze_of_the_process_own_is_kept() -> None:
    before_threshold = gc.get_threshold()
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        made_after = [[] for _ in range(1000)]  # tracked objects a second freeze would add to the count
        with steady_collector():
            assert 0 < gc.get_freeze_count() <= frozen  # not frozen again
            assert gc.get_threshold()[0] == max(before_threshold[0], YOUNG_THRESHOLD)
        assert 0 < gc.get_freeze_count() <= frozen  # not unfrozen by the run
        del made_after
        assert gc.get_threshold() == before_threshold
    finally:
        gc.unfreeze()


def test_nested_and_concurrent_runs_restore_once_the_last_ends() -> None:
    before = _state()
    inner_done = threading.Event()
    seen: list[tuple[tuple[int, int, int], bool]] = []

    def other() -> None:
        with steady_collector():
            seen.append(_state())
        inner_done.set()

    with steady_collector():
        during = _state()
        thread = threading.Thread(target=other)
        thread.start()
        inner_done.wait(10)
        thread.join()
        assert _state() == during  # the other thread's run ended first: this one's settings stay
    assert seen == [during]
    assert _state() == before

    # The other way round: the run that began first ends first, and the later one keeps its settings.
    entered, leave = threading.Event(), threading.Event()
    after_first: list[tuple[tuple[int, int, int], bool]] = []

    def later() -> None:
        with steady_collector():
            entered.set()
            leave.wait(10)
            after_first.append(_state())

    with steady_collector():
        thread = threading.Thread(target=later)
        thread.start()
        entered.wait(10)
    still = _state()
    leave.set()
    thread.join()
    assert still == during and after_first == [during]
    assert _state() == before


def test_garbage_from_before_a_run_is_collected_once_it_ends() -> None:
    """Frozen objects are not collected while the run goes on (its walks skip them), only after: nothing leaks."""

    class Node:
        def __init__(self) -> None:
            self.me = self

    node = Node()
    gone = weakref.ref(node)
    with steady_collector():
        del node  # a cycle: only the collector can free it
        gc.collect()
        assert gone() is not None  # frozen: skipped
    gc.collect()
    assert gone() is None
