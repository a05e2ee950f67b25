"""Many independent requests over the engine, as `audit`, `respond` and `prefer` send them: a hard budget held
per item, the journaled client (synchronous or --batch), and a pool of workers that stops at the first error.

Unlike `generate`, whose requests depend on each other (the scheduler, rounds), these commands know every
request up front: each item is asked once (or a few attempts), journaled, and the run is resumable because
every reply is in the ledger (ResponseJournal) before what follows from it is written.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, TypeVar

from selfinstruct.engine.budget import Budget, BudgetExhausted, Reservation, describe_caps, upper_prompt_tokens
from selfinstruct.engine.client import Completer, LLMClient
from selfinstruct.engine.context_window import ContextLengthError
from selfinstruct.engine.endpoint import resolve_model_prices
from selfinstruct.engine.journal import ResponseJournal, response_key
from selfinstruct.engine.journaled import JournaledClient
from selfinstruct.engine.options import EngineOptions
from selfinstruct.engine.types import Completion, EndpointSettings, ModelPrices, Prices, StepParams, Usage

T = TypeVar("T")
TICK = 1.0  # seconds between progress ticks while nothing lands (a 429 wait, a batch in flight)


@dataclass(frozen=True)
class Spending:
    """How a job's requests are sent and what they may spend, the same for `respond` and `prefer`: the embedded
    model (`local`, a GGUF in `local_model`) or an endpoint, the hard caps at the prices, and the Batch API."""

    local: bool = False  # no endpoint given: the embedded model answers (a smoke test only)
    local_model: Path | None = None
    max_tokens_total: int | None = None
    max_cost: float | None = None  # USD, with prices
    prices: Prices | None = None  # USD per 1M tokens; with --batch, the batch prices
    batch: bool = False
    batch_poll: float = 5.0
    model_prices: Mapping[str, Prices] = field(default_factory=dict)  # respond --model-price: a model's own

    @classmethod
    def of(cls, o: EngineOptions, *, local: bool, local_model: Path | None, models: tuple[str, ...] = (),
           model_price: tuple[str, ...] = ()) -> Spending:  # fmt: skip
        """The options' caps, prices (`model_price`: MODEL=IN,OUT of some of `models`) and batch flags (bad ones
        are InputErrors) for an endpoint already resolved."""
        prices, by_model = resolve_model_prices(o, models, model_price)
        return cls(local=local, local_model=local_model, max_tokens_total=o.max_tokens_total, max_cost=o.max_cost,
                   prices=prices, batch=bool(o.batch), batch_poll=float(o.batch_poll or 5.0),
                   model_prices=by_model)  # fmt: skip

    @property
    def pricing(self) -> ModelPrices:
        """The prices of each model's requests (the journal's lines name their model)."""
        return ModelPrices(self.prices, self.model_prices)

    def priced(self) -> bool:
        """Whether any price is known (a cost can be shown)."""
        return self.prices is not None or bool(self.model_prices)

    def budget(self, ledger: ResponseJournal) -> Budget:
        """The hard budget of a run directory, from what its ledger says was spent before, each charge at its
        model's prices."""
        return opening_budget(ledger, self.max_tokens_total, self.max_cost, self.pricing)


class ItemBudget:
    """--max-tokens-total and --max-cost as caps per item: an item is asked only if its worst case (every
    attempt, full max_tokens) still fits beside what was spent and what is in flight; what it did not use is
    given back. Per item, so that a first reply is never paid for and then left without its retry; what was
    spent is the client's per-attempt budget's (budget.Budget: every attempt charged, the hard cap), read from
    the ledger."""

    def __init__(self, spending: Budget, attempts: int = 1) -> None:
        self.spending = spending
        self.attempts = attempts
        self.max_tokens = spending.max_tokens
        self.max_cost = spending.max_cost
        self.prices = spending.prices
        self._reserved = Reservation(0, 0.0)
        self.reached = False

    @property
    def tokens(self) -> int:
        return self.spending.used_tokens

    @property
    def cost(self) -> float:
        return self.spending.used_cost

    def reserve(self, prompt: str, max_tokens: int, model: str = "") -> Reservation | None:
        """The item's worst case (at `model`'s prices), reserved; None (and `reached`) when it does not fit."""
        prompt_tokens = self.attempts * upper_prompt_tokens(prompt)
        completion_tokens = self.attempts * max_tokens
        prices = self.spending.prices_of("", model)
        cost = prices.cost(prompt_tokens, completion_tokens) if prices is not None else 0.0
        worst = Reservation(prompt_tokens + completion_tokens, cost)
        tokens_after = self.tokens + self._reserved.tokens + worst.tokens
        cost_after = self.cost + self._reserved.cost + worst.cost
        if (self.max_tokens is not None and tokens_after > self.max_tokens) or (
            self.max_cost is not None and cost_after > self.max_cost
        ):
            self.reached = True
            return None
        self._reserved = Reservation(self._reserved.tokens + worst.tokens, self._reserved.cost + worst.cost)
        return worst

    def settle(self, reservation: Reservation) -> None:
        """The item is done: its worst case is given back (what its attempts cost is in `spending`)."""
        self._reserved = Reservation(self._reserved.tokens - reservation.tokens, self._reserved.cost - reservation.cost)

    def describe(self) -> str:
        return describe_caps(self.max_tokens, self.tokens, self.max_cost, self.cost)


def journaled_client(
    endpoint: EndpointSettings,
    ledger: ResponseJournal,
    budget: Budget,
    *,
    batch_ledger: Path | None = None,
    batch_poll: float = 5.0,
    notice: Callable[[str], None] = lambda _: None,
    usage: Usage | None = None,
) -> JournaledClient:
    """The synchronous client, or with a `batch_ledger` the batching one; either charges every attempt in
    `ledger` (the replies journaled there too, so that nothing journaled is paid twice) against `budget`. Clients
    of several models share one `usage` (the run's counts) as they share the ledger and the budget."""
    if batch_ledger is None:
        return JournaledClient(LLMClient(endpoint, usage, budget=budget, ledger=ledger), ledger)
    from selfinstruct.engine.batch.client import BatchingClient

    batching = BatchingClient.for_command(endpoint, batch_ledger, poll_seconds=batch_poll, notice=notice,
                                          usage=usage, budget=budget, journal=ledger, counts_earlier=False)  # fmt: skip
    return JournaledClient(batching, ledger)


async def sweep(clients: Iterable[JournaledClient]) -> None:
    """Collect the paid lines of finished batches that no request of this run took (BatchingClient.sweep): before
    the journal is replayed, so that a resume asking fewer items (a smaller cap) still journals and charges what
    an earlier run's batches served, and after the items, for what this run gave up on. No-op without --batch."""
    for client in clients:
        await client.sweep()


async def opening_sweep(clients: Iterable[JournaledClient], ledger: ResponseJournal) -> None:
    """`sweep` before a job replays its journal (respond, prefer, audit); when it fails (a signal, an OS error)
    the clients and the ledger are closed before the error goes on, as the job's own end would close them."""
    clients = list(clients)
    try:
        await sweep(clients)
    except BaseException:
        await close(clients, ledger)
        raise


async def close(clients: Iterable[Completer], ledger: ResponseJournal) -> None:
    """Close a job's clients, then its ledger (the response journal they write to)."""
    for client in clients:
        await client.aclose()
    ledger.close()


def this_run(usage: Usage, prices: Prices | None) -> tuple[int, float | None]:
    """What a job's own requests spent (its usage counts this process's only): tokens, and USD at `prices`. Not
    the budget's change over the run, which also holds the corrections of what earlier runs were charged (a
    batch line collected now: its reservation replaced by its reply's usage), and so went below zero."""
    spend = usage.spend()
    return spend.tokens, spend.cost(prices)


def opening_budget(ledger: ResponseJournal, max_tokens: int | None, max_cost: float | None,
                   pricing: ModelPrices) -> Budget:  # fmt: skip
    """The run's hard budget, starting from what the ledger says was spent before: each line at the prices of
    the model it names (ModelPrices: a line written before lines named it at the highest)."""
    spent = ledger.spend.spend()
    return Budget(max_tokens=max_tokens, max_cost=max_cost, prices=pricing.default, used_tokens=spent.tokens,
                  used_cost=pricing.cost(ledger.spend_models.steps) or 0.0,
                  model_prices=pricing.models)  # fmt: skip


async def run_items(
    items: Sequence[T],
    width: int,
    budget: ItemBudget,
    cost_of: Callable[[T], tuple[str, int]],
    ask: Callable[[T], Awaitable[None]],
    tick: Callable[[], None] = lambda: None,
    model_of: Callable[[T], str] = lambda _: "",
) -> None:
    """Ask every item with at most `width` in flight, in order of `items`; each first reserves its worst case
    (`cost_of`: its prompt and max_tokens, at `model_of`'s prices) and is not asked when that does not fit (the
    budget is then `reached` and no later item starts). The first error cancels and awaits the rest, then is
    raised."""
    queue = iter(items)

    async def worker() -> None:
        for item in queue:  # one shared iterator: each item goes to exactly one worker
            prompt, max_tokens = cost_of(item)
            reserved = budget.reserve(prompt, max_tokens, model_of(item))
            if reserved is None:
                return
            try:
                await ask(item)
            except BudgetExhausted:  # a retry that no longer fits: what was paid is in the ledger, replayed later
                budget.reached = True
                return
            finally:
                budget.settle(reserved)

    async def ticker() -> None:  # waits (429, a batch in flight) show even while nothing lands
        while True:
            await asyncio.sleep(TICK)
            tick()

    workers = [asyncio.ensure_future(worker()) for _ in range(max(1, min(width, len(items))))]
    ticking = asyncio.ensure_future(ticker())
    try:
        done, _ = await asyncio.wait(workers, return_when=asyncio.FIRST_EXCEPTION)
    finally:
        for w in [*workers, ticking]:
            w.cancel()
        await asyncio.gather(*workers, ticking, return_exceptions=True)
    for w in done:
        failure = None if w.cancelled() else w.exception()
        if failure is not None:
            raise failure


class NotJournaled(Exception):
    """ReplayOnly was asked something the journal does not hold: it must be sent."""


class ReplayOnly:
    """A client that answers from the journal only: a rerun first replays what was paid for (free, without a
    reservation, so a run stopped by its cap can still rewrite its outputs), and sends only the rest."""

    def __init__(self, endpoint: EndpointSettings, ledger: ResponseJournal) -> None:
        self.endpoint = endpoint
        self.ledger = ledger

    async def complete(self, step: str, prompt: str, params: StepParams, *, seed: int | None = None) -> Completion:
        hit = self.ledger.get(response_key(step, self.endpoint.model, self.endpoint.api, prompt, params, seed))
        if hit is None:
            raise NotJournaled
        return hit


@dataclass(frozen=True)
class Asked:
    """The last reply of a question asked until it could be read, and what all its attempts cost."""

    reply: Completion
    why: str  # "" when the last reply was read
    attempts: int
    prompt_tokens: int
    completion_tokens: int


class Asker(Protocol):
    async def complete(self, step: str, prompt: str, params: StepParams, *, seed: int | None = None) -> Completion: ...


async def ask_until_read(
    client: Asker,
    step: str,
    prompt: str,
    params: StepParams,
    seeds: Sequence[int],
    unreadable: Callable[[Completion], str],
    retry_temperature: float = 0.7,
) -> Asked:
    """Ask, and ask again with the next seed while `unreadable` says why the reply cannot be used (at most one
    attempt per seed). A retry samples at `retry_temperature`: greedy decoding would repeat the same reply."""
    reply = Completion("", "empty", 0, 0)
    why = ""
    prompt_tokens = completion_tokens = attempts = 0
    for attempt, seed in enumerate(seeds):
        attempts = attempt + 1
        sampling = params if attempt == 0 else dataclasses.replace(params, temperature=retry_temperature)
        try:
            reply = await client.complete(step, prompt, sampling, seed=seed)
        except ContextLengthError:
            return Asked(reply, "prompt longer than the judge's context", attempts, prompt_tokens, completion_tokens)
        prompt_tokens += reply.prompt_tokens
        completion_tokens += reply.completion_tokens
        why = unreadable(reply)
        if not why:
            break
    return Asked(reply, why, attempts, prompt_tokens, completion_tokens)
