"""How the engine runs coroutines: every task has an owner, and SIGTERM/SIGHUP end a run as Ctrl-C does.

A task nobody awaits prints "Task exception was never retrieved" with a traceback after the run's one error
line; a signal with Python's default action kills the process before run.json says so. Both are closed here:
`all_or_first_error` runs sibling requests so that the first failure cancels and awaits the others, and `run`
is asyncio.run where a SIGTERM or SIGHUP cancels the main task (so every `finally` runs, run.json is saved) and
then surfaces as `Terminated`, which the CLI turns into its one line and exit code 128 + signal.

While a coroutine has asked for it (`on_interrupt`), the first Ctrl-C, SIGTERM or SIGHUP calls its hook instead
(generate lets the requests already paid for land in the journal, then ends as interrupted); a second one
cancels as above.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import signal
import threading
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Iterator
from typing import Any, TypeVar

from selfinstruct.engine.collector import steady_collector
from selfinstruct.engine.signals import handled as handled_signals
from selfinstruct.errors import Terminated

T = TypeVar("T")


async def all_or_first_error(aws: Iterable[Awaitable[T]]) -> list[T]:
    """The results of `aws` run concurrently; on the first failure (or when the caller is cancelled) the others are
    cancelled and awaited, and that failure is raised as itself, so callers catch domain errors as usual. (What
    asyncio.TaskGroup does from Python 3.11, without the ExceptionGroup.)"""
    tasks = [asyncio.ensure_future(aw) for aw in aws]
    if not tasks:
        return []
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
    finally:
        for task in tasks:
            task.cancel()  # a no-op for those done
        await asyncio.gather(*tasks, return_exceptions=True)  # every outcome retrieved: no stray traceback
    for task in tasks:
        if task in done and not task.cancelled() and task.exception() is not None:
            raise task.exception()  # type: ignore[misc]
    return [task.result() for task in tasks]


async def deadline(aw: Awaitable[T], seconds: float) -> T:
    """`aw`'s result, or TimeoutError once `seconds` have passed (`aw` is then cancelled and awaited). Unlike
    asyncio.wait_for before Python 3.12, a cancellation of the caller (Ctrl-C, SIGTERM) is never lost when it
    meets `aw` finishing."""
    task = asyncio.ensure_future(aw)
    try:
        done, _ = await asyncio.wait({task}, timeout=seconds)
    except BaseException:  # cancelled: `task` too, and its outcome taken in, even if it ended meanwhile
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        raise
    if not done:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        raise TimeoutError(f"no result within {seconds:g} s")
    return task.result()


Hook = Callable[[int], None]  # told the signal number of the first interruption
_HOOKS: contextvars.ContextVar[list[Hook] | None] = contextvars.ContextVar("interrupt_hooks", default=None)


@contextlib.contextmanager
def on_interrupt(hook: Hook) -> Iterator[None]:
    """Within `run`: the first Ctrl-C, SIGTERM or SIGHUP calls `hook` instead of cancelling the main task, which
    then ends on its own (raising asyncio.CancelledError to end as interrupted); a second signal cancels it.
    Outside `run` (no signal handled there) nothing changes."""
    hooks = _HOOKS.get()
    if hooks is None:
        yield
        return
    hooks.append(hook)
    try:
        yield
    finally:
        hooks.remove(hook)


def run(main: Coroutine[Any, Any, T]) -> T:
    """asyncio.run(main), where SIGTERM and SIGHUP cancel `main` (its cleanup runs as for Ctrl-C) and then raise
    Terminated(signal) outside the loop, and Ctrl-C raises KeyboardInterrupt; while an `on_interrupt` hook is
    registered, the first signal goes to it and the second cancels. Later SIGTERM and SIGHUP are ignored (the
    cleanup is short); a later Ctrl-C raises KeyboardInterrupt out of the loop at once."""
    received: list[int] = []
    handled = handled_signals()
    # Ctrl-C too, while Python's default handler has it (asyncio.run's would cancel at once; not when ignored).
    main_thread = threading.current_thread() is threading.main_thread()
    if main_thread and signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        handled.append(signal.SIGINT)

    async def guarded() -> T:
        loop = asyncio.get_running_loop()
        task = asyncio.current_task()
        assert task is not None
        installed: list[tuple[int, Any]] = []
        hooks: list[Hook] = []
        _HOOKS.set(hooks)
        cancelled = [False]

        def on_signal(signum: int) -> None:
            received.append(signum)
            if len(received) == 1 and hooks:
                hooks[-1](signum)
            elif not cancelled[0]:
                cancelled[0] = True
                task.cancel()
            elif signum == signal.SIGINT:  # a third Ctrl-C: the cleanup seems stuck, stop it as Python would
                raise KeyboardInterrupt

        for signum in handled:
            installed.append((signum, signal.getsignal(signum)))
            loop.add_signal_handler(signum, on_signal, signum)
        try:
            return await main
        finally:
            for signum, previous in installed:
                loop.remove_signal_handler(signum)
                signal.signal(signum, previous)  # remove_signal_handler leaves the default action: restore ours

    try:
        with steady_collector():
            return asyncio.run(guarded())
    except asyncio.CancelledError:
        if received and received[0] == signal.SIGINT:
            raise KeyboardInterrupt from None
        if received:
            raise Terminated(received[0]) from None
        raise
