"""engine.aio: sibling requests share one fate, deadlines cancel what they end, signals end a run cleanly."""

from __future__ import annotations

import asyncio
import gc
import os
import signal

import pytest

from selfinstruct.engine import aio, signals
from selfinstruct.errors import Terminated


def test_the_first_failure_cancels_and_awaits_the_others() -> None:
    cancelled: list[str] = []

    async def slow(name: str) -> str:
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            cancelled.append(name)
            raise
        return name

    async def failing() -> str:
        await asyncio.sleep(0.01)
        raise ValueError("401")

    async def go() -> list[str]:
        return await aio.all_or_first_error([slow("a"), failing(), slow("b")])

    with pytest.raises(ValueError, match="401"):  # itself, not an ExceptionGroup
        asyncio.run(go())
    assert sorted(cancelled) == ["a", "b"]


def test_all_results_in_order() -> None:
    async def value(v: int) -> int:
        await asyncio.sleep(0.01 * (3 - v))
        return v

    async def go() -> list[int]:
        return await aio.all_or_first_error(value(v) for v in range(3))

    assert asyncio.run(go()) == [0, 1, 2]


def test_deadline_cancels_what_it_ends() -> None:
    cancelled: list[bool] = []

    async def hang() -> None:
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            cancelled.append(True)
            raise

    async def go() -> None:
        assert await aio.deadline(asyncio.sleep(0, result=7), 5) == 7
        await aio.deadline(hang(), 0.05)

    with pytest.raises(TimeoutError):
        asyncio.run(go())
    assert cancelled == [True]


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP])
def test_a_signal_cancels_the_run_then_raises_terminated(sig: signal.Signals) -> None:
    cleaned: list[bool] = []

    async def main() -> None:
        try:
            os.kill(os.getpid(), sig)
            await asyncio.sleep(30)
        finally:
            cleaned.append(True)

    with pytest.raises(Terminated) as info:
        aio.run(main())
    assert cleaned == [True] and info.value.exit_code == 128 + sig and info.value.signum == sig
    assert signal.getsignal(sig) is signal.SIG_DFL  # the handler is gone with the run


def test_outside_the_loop_a_signal_raises_terminated_and_the_handler_is_restored() -> None:
    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(Terminated), signals.signals_interrupt():
        os.kill(os.getpid(), signal.SIGTERM)  # the handler runs before the next statement
        pytest.fail("SIGTERM did not raise Terminated")
    assert signal.getsignal(signal.SIGTERM) is before


def test_a_cancelled_deadline_takes_in_the_outcome_of_a_call_that_just_failed() -> None:
    """The caller is cancelled (another request's 401 stops the run) in the very loop turn in which its own call
    fails: that failure must still be retrieved, or it prints "Task exception was never retrieved" at exit."""
    unretrieved: list[str] = []

    async def fail() -> None:
        raise ValueError("401")

    async def go() -> None:
        asyncio.get_running_loop().set_exception_handler(lambda _, ctx: unretrieved.append(ctx["message"]))
        caller = asyncio.ensure_future(aio.deadline(fail(), 5))
        await asyncio.sleep(0)  # the caller starts its call and waits
        await asyncio.sleep(0)  # the call fails; the caller has not woken up yet
        caller.cancel()
        with pytest.raises(asyncio.CancelledError):
            await caller
        del caller
        gc.collect()

    asyncio.run(go())
    assert unretrieved == []
