"""A hard cap on what a run may spend, in tokens and in dollars.

Every request reserves its worst case before it is sent: an upper estimate of its prompt tokens plus its
max_tokens, which the server cannot exceed. Reservations in flight count as spent, so the reported usage
can never pass the cap, whatever the concurrency; when the next request cannot fit even with nothing else in
flight, the budget is exhausted and the run stops. The prompt estimate starts from a generous tokens-per-byte
ratio and then follows the largest ratio the endpoint has reported for that step, with a margin.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from selfinstruct.llm import Completion

FIRST_TOKENS_PER_BYTE = 0.5  # before any usage is reported: about twice what BPE tokenizers need for English
MARGIN = 1.25
OVERHEAD = 16  # tokens a chat template adds around the prompt


@dataclass(frozen=True)
class Prices:
    """USD per 1M tokens, as providers quote them."""

    input: float
    output: float

    def cost(self, prompt_tokens: float, completion_tokens: float) -> float:
        return (prompt_tokens * self.input + completion_tokens * self.output) / 1e6


@dataclass(frozen=True)
class Spend:
    """Requests and tokens, for one run or a whole run directory."""

    requests: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def __sub__(self, other: Spend) -> Spend:
        return Spend(
            self.requests - other.requests,
            self.prompt_tokens - other.prompt_tokens,
            self.completion_tokens - other.completion_tokens,
        )

    def cost(self, prices: Prices | None) -> float | None:
        return prices.cost(self.prompt_tokens, self.completion_tokens) if prices is not None else None


def usd(amount: float) -> str:
    return f"${amount:,.2f}" if amount >= 1 else f"${amount:.4f}"


def upper_prompt_tokens(prompt: str, tokens_per_byte: float = FIRST_TOKENS_PER_BYTE) -> int:
    """An upper estimate of a prompt's tokens: generous per byte (until the endpoint has reported usage), plus
    what a chat template adds around it. What a hard cap reserves."""
    return math.ceil(len(prompt.encode("utf-8")) * tokens_per_byte) + OVERHEAD


def typical_tokens(text: str) -> float:
    """What a BPE tokenizer typically makes of a text: a token per CJK character, 4.3 bytes per token otherwise
    (English prose with GPT-4's tokenizer). An estimate for --dry-run, not a bound: the budget has its own."""
    cjk = sum(1 for ch in text if "\u3400" <= ch <= "\u9fff" or "\uf900" <= ch <= "\ufaff")
    return cjk + (len(text.encode("utf-8")) - 3 * cjk) / 4.3


class BudgetExhausted(Exception):
    """The next request could overrun the cap even with nothing else in flight."""


@dataclass(frozen=True)
class Reservation:
    tokens: int
    cost: float


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
    ) -> None:
        if max_cost is not None and prices is None:
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

    def prompt_estimate(self, step: str, prompt: str) -> int:
        """An upper estimate of the prompt's tokens."""
        return upper_prompt_tokens(prompt, self._ratio.get(step, FIRST_TOKENS_PER_BYTE))

    def _fits(self, tokens: int, cost: float) -> bool:
        if self.max_tokens is not None and self.used_tokens + self._reserved_tokens + tokens > self.max_tokens:
            return False
        return self.max_cost is None or self.used_cost + self._reserved_cost + cost <= self.max_cost

    async def reserve(self, step: str, prompt: str, max_tokens: int) -> Reservation:
        """Wait until the request's worst case fits; BudgetExhausted when it never will."""
        estimate = self.prompt_estimate(step, prompt)
        cost = self.prices.cost(estimate, max_tokens) if self.prices is not None else 0.0
        reservation = Reservation(estimate + max_tokens, cost)
        async with self._changed:
            while not self._fits(reservation.tokens, reservation.cost):
                if self._reserved_tokens == 0:
                    raise BudgetExhausted(self.describe())
                await self._changed.wait()
            self._reserved_tokens += reservation.tokens
            self._reserved_cost += reservation.cost
        return reservation

    async def settle(
        self, reservation: Reservation, step: str, prompt: str, prompt_tokens: int, completion_tokens: int
    ) -> None:
        """Replace the reservation by what the endpoint reported (nothing, for a request that failed)."""
        async with self._changed:
            self._reserved_tokens -= reservation.tokens
            self._reserved_cost -= reservation.cost
            self.used_tokens += prompt_tokens + completion_tokens
            if self.prices is not None:
                self.used_cost += self.prices.cost(prompt_tokens, completion_tokens)
            size = len(prompt.encode("utf-8"))
            if prompt_tokens and size:
                seen = prompt_tokens / size * MARGIN
                self._ratio[step] = max(seen, self._ratio.get(step, 0.0)) if step in self._ratio else seen
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


async def within(
    budget: Budget | None, step: str, prompt: str, max_tokens: int, call: Callable[[], Awaitable[Completion]]
) -> Completion:
    """`call()`, its worst case reserved first and settled with what it used (both clients send this way)."""
    if budget is None:
        return await call()
    reservation = await budget.reserve(step, prompt, max_tokens)
    result: Completion | None = None
    try:
        result = await call()
        return result
    finally:
        used = (result.prompt_tokens, result.completion_tokens) if result is not None else (0, 0)
        await budget.settle(reservation, step, prompt, *used)
