"""The budget's reservations and the rounds rule, without an endpoint."""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import given
from hypothesis import strategies as st

from selfinstruct.engine.budget import Budget, BudgetExhausted, spend_order, typical_tokens
from selfinstruct.engine.types import Prices
from selfinstruct.pipeline.rounds import horizon, round_start


def test_reservations_in_flight_count_as_spent() -> None:
    async def go() -> list[str]:
        budget = Budget(max_tokens=1000)
        events: list[str] = []
        first = await budget.reserve("classify", "x" * 100, 400)  # 50 + 16 + 400 = 466 reserved

        async def second() -> None:
            try:
                reservation = await budget.reserve("classify", "x" * 100, 600)  # 666 does not fit beside 466
                events.append("second sent")
                await budget.settle(reservation, "classify", "x" * 100, 20, 100)
            except BudgetExhausted:
                events.append("second refused")

        task = asyncio.create_task(second())
        await asyncio.sleep(0.01)
        events.append("first lands")
        await budget.settle(first, "classify", "x" * 100, 20, 380)  # 400 used: 400 + 666 > 1000, none in flight
        await task
        return events

    assert asyncio.run(go()) == ["first lands", "second refused"]


def test_near_the_cap_waiting_attempts_are_admitted_in_commit_order() -> None:
    """Near the cap, whichever waiting attempt fitted first went: a later request's classify request could take
    the room an earlier candidate's instances request waited for, so the budget paid for work ahead of the commit
    and the commit's own work found it spent. A later attempt that would fit now waits for an earlier one that
    does not fit yet."""

    async def go() -> list[tuple[int, int]]:
        budget = Budget(max_tokens=1000)
        in_flight = await budget.reserve("instructions", "", 600)  # 616 reserved, 384 left
        admitted: list[tuple[int, int]] = []

        async def attempt(request: int, candidate: int, max_tokens: int) -> None:
            spend_order(request, candidate)
            await budget.reserve("instances", "", max_tokens)
            admitted.append((request, candidate))

        early = asyncio.create_task(attempt(0, 3, 500))  # 516: waits for the reservation in flight
        await asyncio.sleep(0.01)
        late = asyncio.create_task(attempt(5, 0, 300))  # 316 would fit now, but request 0's candidate is first
        await asyncio.sleep(0.01)
        admitted.append((-1, -1))  # the reply in flight lands
        await budget.settle(in_flight, "instructions", "", 0, 100)  # 900 left: both fit, in order
        await asyncio.gather(early, late)
        return admitted

    assert asyncio.run(go()) == [(-1, -1), (0, 3), (5, 0)]


def test_exhausted_only_when_nothing_else_is_in_flight() -> None:
    async def go() -> None:
        budget = Budget(max_tokens=500, used_tokens=450)
        with pytest.raises(BudgetExhausted, match="token budget of 500"):
            await budget.reserve("instances", "hello", 100)

    asyncio.run(go())


def test_prompt_estimate_follows_the_reported_ratio_with_a_margin() -> None:
    async def go() -> int:
        budget = Budget(max_tokens=10**6)
        reservation = await budget.reserve("instructions", "word " * 200, 10)
        await budget.settle(reservation, "instructions", "word " * 200, 200, 5)
        return budget.prompt_estimate("instructions", "word " * 200)

    first_guess = Budget().prompt_estimate("instructions", "word " * 200)
    learned = asyncio.run(go())
    assert learned == 200 * 1.25 + 16 < first_guess


def test_cost_cap_needs_prices_and_counts_dollars() -> None:
    with pytest.raises(ValueError):
        Budget(max_cost=1.0)
    prices = Prices(input=1.0, output=2.0)
    assert prices.cost(1_000_000, 500_000) == 2.0


@given(st.integers(0, 10_000), st.integers(1, 64))
def test_rounds_are_contiguous_and_grow_to_the_window(request: int, window: int) -> None:
    start = round_start(request, window)
    assert start <= request
    assert round_start(start, window) == start
    size = min(window, max(1, start))
    assert request < start + size  # inside its round
    if start > 0:
        before = round_start(start - 1, window)
        assert start - before == min(window, max(1, before))  # the previous round ends where this begins


@given(st.integers(0, 10_000), st.integers(1, 64))
def test_a_request_sees_whole_rounds_before_its_own(request: int, window: int) -> None:
    seen = horizon(request, window, 1)  # rule 1; rule 2 in test_schedule
    start = round_start(request, window)
    assert seen <= start and (seen == 0 or round_start(seen, window) == seen)  # a round boundary
    assert request < 1 or seen >= 1  # from request 1 on, the model's own tasks can be shown
    assert start - seen <= window  # at most the previous round is not yet visible


@given(st.text(alphabet=st.sampled_from("ab c\u00e9\u3400\u4e2d\u9fff\ua000\uf900\ufaff\U0001f600")))
def test_typical_tokens_counts_cjk_as_it_always_did(text: str) -> None:
    """Every reply asks this of its prompt; the ASCII shortcut and the regex count give the scan's float."""
    cjk = sum(1 for ch in text if "\u3400" <= ch <= "\u9fff" or "\uf900" <= ch <= "\ufaff")
    assert typical_tokens(text) == cjk + (len(text.encode("utf-8")) - 3 * cjk) / 4.3
