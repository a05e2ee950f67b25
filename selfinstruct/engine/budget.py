"""A hard cap on what a run may spend, in tokens and in dollars, and how each attempt is charged against it.

Every attempt (a retry too) reserves its worst case before it is sent: an upper estimate of its prompt tokens
plus its max_tokens, which the server cannot exceed. Reservations in flight count as spent, so what the server
bills can never pass the cap, whatever the concurrency; when the next attempt cannot fit even with nothing else
in flight, the budget is exhausted and the run stops. The prompt estimate starts from a generous tokens-per-byte
ratio and then follows the largest ratio the endpoint has reported for that step, with a margin.

An attempt that may have been billed is charged: a reply its reported usage (or, without usable usage, its
reservation, the worst case the server could have billed), a timeout, dropped connection, 5xx or malformed reply
its whole reservation; only a refusal (4xx, 429: nothing generated) costs nothing. With a ledger (the response
journal) the reservation is written down before the request leaves, so a kill cannot forget it either.
"""

from __future__ import annotations

import asyncio
import bisect
import contextvars
import dataclasses
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from selfinstruct.engine.types import Completion, Prices, StepUsage

FIRST_TOKENS_PER_BYTE = 0.5  # before any usage is reported: about twice what BPE tokenizers need for English
MARGIN = 1.25
OVERHEAD = 16  # tokens a chat template adds around the prompt


def usd(amount: float) -> str:
    return f"${amount:,.2f}" if amount >= 1 else f"${amount:.4f}"


def upper_prompt_tokens(prompt: str, tokens_per_byte: float = FIRST_TOKENS_PER_BYTE) -> int:
    """An upper estimate of a prompt's tokens: generous per byte (until the endpoint has reported usage), plus
    what a chat template adds around it. What a hard cap reserves."""
    return math.ceil(len(prompt.encode("utf-8")) * tokens_per_byte) + OVERHEAD


def typical_tokens(text: str) -> float:
    """What a BPE tokenizer typically makes of a text: a token per CJK character, 4.3 bytes per token otherwise
    (English prose with GPT-4's tokenizer). An estimate for --dry-run, not a bound: the budget has its own."""
    if text.isascii():  # a flag, not a scan: every reply asks this of its prompt (truncated_prompt)
        return len(text) / 4.3
    cjk = len(_CJK.findall(text))
    return cjk + (len(text.encode("utf-8")) - 3 * cjk) / 4.3


_CJK = re.compile("[\u3400-\u9fff\uf900-\ufaff]")


# Where the current task's attempts stand in the run's commit order: (request, candidate), -1 for the request's
# own (the pipeline sets it per job). Near the cap, waiting attempts are admitted in this order, so the budget goes
# to the work the next commit needs first: otherwise whichever waiting attempt fits first goes, and the requests
# sent ahead of the commit (up to 2 x --concurrency jobs) could spend the room an earlier candidate's instances
# request waited for, paying for work that is never committed.
SPEND_ORDER: contextvars.ContextVar[tuple[int, int] | None] = contextvars.ContextVar("spend_order", default=None)


def spend_order(request: int, candidate: int = -1) -> None:
    """Rank the attempts of the current task (and of tasks it creates) in the budget's queue; see SPEND_ORDER."""
    SPEND_ORDER.set((request, candidate))


class BudgetExhausted(Exception):
    """The next request could overrun the cap even with nothing else in flight."""


@dataclass(frozen=True)
class Reservation:
    tokens: int
    cost: float
    prompt_tokens: int = 0  # the split of `tokens`, for charging an attempt its reservation
    completion_tokens: int = 0


class Budget:
    """Shared by every request of a run; `used_*` start from what the run directory has spent already."""

    def __init__(
        self,
        *,
        max_tokens: int | None = None,
        max_cost: float | None = None,
        prices: Prices | None = None,
        used_tokens: int = 0,
        used_cost: float = 0.0,
        step_prices: Mapping[str, Prices | None] | None = None,
        model_prices: Mapping[str, Prices] | None = None,
    ) -> None:
        self.step_prices = dict(step_prices or {})  # steps sent to another model: priced at its prices
        # One step's requests to several models (respond): each model's own prices, before the step's.
        self.model_prices = dict(model_prices or {})
        if max_cost is not None and ((prices is None and not self.model_prices) or None in self.step_prices.values()):
            raise ValueError("a cost cap needs prices")
        self.max_tokens = max_tokens
        self.max_cost = max_cost
        self.prices = prices
        self.used_tokens = used_tokens
        self.used_cost = used_cost
        self._reserved_tokens = 0
        self._reserved_cost = 0.0
        self._ratio: dict[str, float] = {}
        self._changed = asyncio.Condition()
        self._queue: list[tuple[int, int]] = []  # the SPEND_ORDER of every ranked attempt waiting in reserve()

    def prices_of(self, step: str, model: str = "") -> Prices | None:
        """The prices `step`'s requests to `model` are charged at: the model's own (model_prices), else the
        step's model's (see StepPrices)."""
        if model in self.model_prices:
            return self.model_prices[model]
        return self.step_prices.get(step, self.prices)

    def prompt_estimate(self, step: str, prompt: str) -> int:
        """An upper estimate of the prompt's tokens."""
        return upper_prompt_tokens(prompt, self._ratio.get(step, FIRST_TOKENS_PER_BYTE))

    def _fits(self, tokens: int, cost: float) -> bool:
        if self.max_tokens is not None and self.used_tokens + self._reserved_tokens + tokens > self.max_tokens:
            return False
        return self.max_cost is None or self.used_cost + self._reserved_cost + cost <= self.max_cost

    async def reserve(self, step: str, prompt: str, max_tokens: int, model: str = "") -> Reservation:
        """Wait until the request's worst case fits; BudgetExhausted when it never will."""
        estimate = self.prompt_estimate(step, prompt)
        prices = self.prices_of(step, model)
        cost = prices.cost(estimate, max_tokens) if prices is not None else 0.0
        reservation = Reservation(estimate + max_tokens, cost, estimate, max_tokens)
        order = SPEND_ORDER.get()
        async with self._changed:
            if order is not None:
                bisect.insort(self._queue, order)
            try:
                while not (self._turn(order) and self._fits(reservation.tokens, reservation.cost)):
                    if self._reserved_tokens == 0 and self._turn(order):
                        raise BudgetExhausted(self.describe())
                    await self._changed.wait()
            finally:
                if order is not None:
                    self._queue.remove(order)
                    self._changed.notify_all()  # the next in order may go now
            self._reserved_tokens += reservation.tokens
            self._reserved_cost += reservation.cost
        return reservation

    def _turn(self, order: tuple[int, int] | None) -> bool:
        """Whether no ranked attempt earlier in the commit order is waiting (an unranked one never waits)."""
        return order is None or self._queue[0] >= order

    async def settle(
        self,
        reservation: Reservation,
        step: str,
        prompt: str,
        prompt_tokens: int,
        completion_tokens: int,
        *,
        reported: bool = True,
        model: str = "",
    ) -> None:
        """Replace the reservation by what the attempt is charged; only usage the endpoint `reported` teaches
        the prompt estimate."""
        async with self._changed:
            self._reserved_tokens -= reservation.tokens
            self._reserved_cost -= reservation.cost
            self.used_tokens += prompt_tokens + completion_tokens
            prices = self.prices_of(step, model)
            if prices is not None:
                self.used_cost += prices.cost(prompt_tokens, completion_tokens)
            size = len(prompt.encode("utf-8"))
            if reported and prompt_tokens and size:
                seen = prompt_tokens / size * MARGIN
                self._ratio[step] = max(seen, self._ratio.get(step, 0.0)) if step in self._ratio else seen
            self._changed.notify_all()

    async def recharge(self, before: tuple[int, int], after: tuple[int, int], step: str = "", model: str = "") -> None:
        """A charge of `step` counted in `used_*` as (prompt, completion) `before` turned out to be `after` (a batch
        line collected after its attempt was given up on: its reservation, then what its reply reports)."""
        await self.release(before[0] - after[0], before[1] - after[1], step, model)  # (prices are linear in tokens)

    async def release(self, prompt_tokens: int, completion_tokens: int, step: str = "", model: str = "") -> None:
        """Take back a charge of `step` (to `model`) counted in `used_*` that turned out smaller (settled by
        another charge)."""
        async with self._changed:
            self.used_tokens -= prompt_tokens + completion_tokens
            prices = self.prices_of(step, model)
            if prices is not None:
                self.used_cost -= prices.cost(prompt_tokens, completion_tokens)
            self._changed.notify_all()

    def describe(self) -> str:
        return describe_caps(self.max_tokens, self.used_tokens, self.max_cost, self.used_cost)


def describe_caps(max_tokens: int | None, used_tokens: int, max_cost: float | None, used_cost: float) -> str:
    """The caps and what they have used, as the stop message names them."""
    caps = []
    if max_tokens is not None:
        caps.append(f"token budget of {max_tokens:,} ({used_tokens:,} used)")
    if max_cost is not None:
        caps.append(f"cost budget of {usd(max_cost)} ({usd(used_cost)} used)")
    return " and ".join(caps)


@dataclass(frozen=True)
class LineCharge:
    """The charge of one line of a batch: its ledger id, step and reservation, and the journal key (and seed) its
    reply goes under, so that whichever process collects the line can journal it even if nothing asks for it."""

    charge: str
    step: str
    prompt_tokens: int
    completion_tokens: int
    key: str = ""
    seed: int | None = None
    model: str = ""  # the model it was sent to, which prices it ("" in journals written before lines named it)


class Ledger(Protocol):
    """Where attempts are written down before they are sent (the response journal): spend a kill cannot forget."""

    async def sent(self, step: str, prompt_tokens: int, completion_tokens: int, model: str = "") -> str:
        """Record an attempt (to `model`) about to be sent, charged its reservation until it is settled; returns
        its id."""
        ...

    async def refused(self, charge: str) -> None:
        """The attempt was refused before anything was generated: it costs nothing."""
        ...

    async def sent_many(self, charges: list[LineCharge]) -> None:
        """Record attempts sent together (the lines of a batch), each with the key its reply is journaled under."""
        ...

    def open_line(self, charge: str) -> LineCharge | None:
        """The batch line of that charge while nothing has settled it (no reply journaled, not refused)."""
        ...

    async def collected(self, charge: str, result: Completion | None) -> LineCharge | None:
        """Settle an open batch line that no request of this process took: its reply journaled under the line's
        key (None: it failed unbilled, and costs nothing). Returns the line, whose reservation the caller's counts
        hold, or None when nothing was settled (unknown, already settled, or its key answered by another line)."""
        ...


@dataclass(frozen=True)
class Attempt:
    step: str
    prompt: str
    reservation: Reservation
    charge: str  # its id in the ledger ("" without one)


class Charging:
    """Opens and settles the attempts of one client (to `model`) against its budget and ledger (either may be
    None) and counts what each costs in the step's usage; the model prices the charge (Budget.prices_of) and is
    written on the ledger's line, so that a resume prices it again the same way."""

    def __init__(self, budget: Budget | None, ledger: Ledger | None, model: str = "") -> None:
        self.budget = budget
        self.ledger = ledger
        self.model = model

    async def open(self, step: str, prompt: str, max_tokens: int) -> Attempt:
        """Reserve the attempt's worst case (BudgetExhausted when it cannot fit) and write it down."""
        if self.budget is not None:
            reservation = await self.budget.reserve(step, prompt, max_tokens, self.model)
        else:
            estimate = upper_prompt_tokens(prompt)
            reservation = Reservation(estimate + max_tokens, 0.0, estimate, max_tokens)
        try:
            charge = (
                "" if self.ledger is None
                else await self.ledger.sent(step, reservation.prompt_tokens, max_tokens, self.model)
            )  # fmt: skip
        except BaseException:
            if self.budget is not None:  # never sent: nothing to charge
                await self.budget.settle(reservation, step, prompt, 0, 0, model=self.model)
            raise
        return Attempt(step, prompt, reservation, charge)

    async def refused(self, attempt: Attempt) -> None:
        try:
            if self.ledger is not None:
                await self.ledger.refused(attempt.charge)
        finally:
            if self.budget is not None:
                await self.budget.settle(attempt.reservation, attempt.step, attempt.prompt, 0, 0, model=self.model)

    async def lost(self, attempt: Attempt, stats: StepUsage) -> None:
        """Sent and never answered (timeout, dropped connection, 5xx, malformed reply, cancelled): it may have been
        billed, so it is charged its reservation (the ledger's line already says so)."""
        r = attempt.reservation
        stats.unanswered += 1
        stats.prompt_tokens += r.prompt_tokens
        stats.completion_tokens += r.completion_tokens
        if self.budget is not None:
            await self.budget.settle(r, attempt.step, attempt.prompt, r.prompt_tokens, r.completion_tokens,
                                     reported=False, model=self.model)  # fmt: skip

    async def answered(self, attempt: Attempt, result: Completion, stats: StepUsage) -> Completion:
        """The reply, charged (see `charged`) and counted; the ledger's line is closed by the journaled reply."""
        result = charged(result, attempt)
        stats.record(result)
        if self.budget is not None:
            await self.budget.settle(attempt.reservation, attempt.step, attempt.prompt, result.prompt_tokens,
                                     result.completion_tokens, reported=result.reported, model=self.model)  # fmt: skip
        return result


def charged(result: Completion, attempt: Attempt) -> Completion:
    """A reply as charged: its reported usage, or without usable usage its reservation (the upper estimate of its
    prompt and the max_tokens the server cannot exceed: never less than it may have billed), tagged with the
    ledger id. Not more: the reservations fit under the cap, so the charges counted from the journal do too (the
    larger of the reservation and a tokenizer estimate of the text passed a 320,000-token cap by 5-14 tokens)."""
    charge = attempt.charge or result.charge  # a batch line is charged by its file (batching._charge)
    if result.reported:
        return dataclasses.replace(result, charge=charge)
    r = attempt.reservation
    return dataclasses.replace(result, prompt_tokens=r.prompt_tokens, completion_tokens=r.completion_tokens,
                               charge=charge)  # fmt: skip
