"""The journaled client: every paid response through the response journal (engine/journal.py) before anything
follows from it, and every journaled one replayed for free instead of paid again."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from selfinstruct.engine.client import Sender
from selfinstruct.engine.journal import ResponseJournal, key_of
from selfinstruct.engine.routing import endpoint_of
from selfinstruct.engine.types import Completion, StepParams, Usage


class JournaledClient:
    """A client whose every paid response goes through the journal, and whose journaled ones cost nothing.

    It wraps a client (synchronous or batching) rather than re-creating one: same `complete` interface, same
    settings, usage (paid requests only) and budget; `replayed` counts what the journal answered instead."""

    def __init__(
        self, inner: Sender, journal: ResponseJournal, replayed: Usage | None = None, *, sync: bool = True
    ) -> None:
        self.inner = inner
        # False: a reply is written, not waited for on disk; whoever keeps what follows from it flushes the journal
        # first (generate: the next request's ledger line is fsync'd with it, a commit flushes; see the docstring).
        self.sync = sync
        self.journal = journal
        self.replayed = replayed or Usage()
        self.settings = inner.settings
        self.usage = inner.usage
        self.budget = inner.budget

    @property
    def in_flight(self) -> int:
        return self.inner.in_flight

    @property
    def waiting(self) -> Mapping[Any, str]:
        return self.inner.waiting

    async def complete(self, step: str, prompt: str, params: StepParams, *, seed: int | None = None) -> Completion:
        endpoint = endpoint_of(self.inner, step)  # the step's own model when steps are routed (engine/routing.py)
        key = key_of(endpoint, step, prompt, params, seed)
        hit = self.journal.get(key)
        if hit is not None:
            stats = self.replayed.step(step)
            stats.requests += 1
            stats.prompt_tokens += hit.prompt_tokens
            stats.completion_tokens += hit.completion_tokens
            return hit
        result = await self.inner.complete(step, prompt, params, seed=seed)
        await self.journal.append(key, step, seed, result, sync=self.sync, model=endpoint.model)
        earlier = self.journal.unanswered.pop(result.charge, None)
        if earlier is not None:  # a batch line an earlier process charged, collected by this one: now exact
            await self._paid_earlier(earlier, step, result)
        return result

    async def _paid_earlier(self, earlier: tuple[str, int, int, str], step: str, result: Completion) -> None:
        """The reply came from a batch line an earlier process sent and charged its reservation: the budget (which
        holds what the journal said was spent) takes the reservation back, the reply's charge replacing it. Counts
        that hold the journal's charges (generate's) do the same; a job's, this process's only, never held the
        reservation, and the reply was paid by the earlier run: taken back out of them (they went negative)."""
        owner, prompt_tokens, completion_tokens, model = earlier
        if self.budget is not None:
            await self.budget.release(prompt_tokens, completion_tokens, owner, model)
        if getattr(self.inner, "counts_earlier", True):
            stats = self.usage.step(owner)
            stats.unanswered -= 1
            stats.prompt_tokens -= prompt_tokens
            stats.completion_tokens -= completion_tokens
            return
        self.usage.step(step).record(result, -1)
        again = self.replayed.step(step)
        again.requests += 1
        again.prompt_tokens += result.prompt_tokens
        again.completion_tokens += result.completion_tokens

    async def sweep(self) -> None:
        """The paid batch lines of the client it wraps that no request took (Sender.sweep; none online)."""
        await self.inner.sweep()

    async def aclose(self) -> None:
        await self.inner.aclose()
