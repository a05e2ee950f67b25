"""The routing client (issue 23): each step to its own endpoint and model over one usage, one budget (each step
charged at its model's prices) and one journal (keys name the step's model, so nothing is paid twice and no
model's answer is replayed to another)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from selfinstruct.engine.budget import Budget
from selfinstruct.engine.journal import ResponseJournal, response_key
from selfinstruct.engine.journaled import JournaledClient
from selfinstruct.engine.routing import RoutingClient, endpoint_of
from selfinstruct.engine.types import EndpointSettings, Prices, StepParams, StepPrices, StepUsage, Usage
from tests.servers import FakeOpenAIServer, Reply, Request, StartServer

PARAMS = StepParams(temperature=0.0, top_p=1.0, max_tokens=40)
CHEAP, DEAR = Prices(0.1, 0.4), Prices(10.0, 40.0)


def _echo(request: Request) -> Reply:
    return Reply(text=f"{request.body['model']} answers: {request.prompt[-20:]}")


def _endpoint(server: FakeOpenAIServer, model: str) -> EndpointSettings:
    return EndpointSettings(base_url=server.url, api_key="k", model=model)


def test_each_step_goes_to_its_endpoint_on_one_usage_budget_and_journal(
    tmp_path: Path, fake_openai: StartServer
) -> None:
    main, other = fake_openai(_echo), fake_openai(_echo)
    routes = {"answer": _endpoint(other, "dear"), "judge": _endpoint(main, "judge-model")}
    budget = Budget(max_cost=1.0, prices=CHEAP, step_prices={"answer": DEAR, "judge": CHEAP})

    async def go() -> tuple[Usage, list[str]]:
        journal = ResponseJournal(tmp_path / "responses.jsonl")
        paid = RoutingClient(_endpoint(main, "cheap"), routes, budget=budget, ledger=journal)
        client = JournaledClient(paid, journal)
        try:
            texts = []
            for step in ("query", "answer", "judge", "answer"):  # the last one is journaled: replayed, not paid
                texts.append((await client.complete(step, f"a {step} prompt", PARAMS, seed=1)).text)
            assert len(paid.clients) == 3  # one per URL, key and model (providers limit each model apart)
            return client.usage, texts
        finally:
            await client.aclose()
            journal.close()

    usage, texts = asyncio.run(go())
    assert [r.body["model"] for r in main.requests] == ["cheap", "judge-model"]
    assert [r.body["model"] for r in other.requests] == ["dear"]
    assert texts[1] == texts[3] == "dear answers: a answer prompt"
    assert {step: u.requests for step, u in usage.steps.items()} == {"query": 1, "answer": 1, "judge": 1}
    # One budget, each step charged at its model's prices: exactly what the usage costs at those prices.
    expected = StepPrices(CHEAP, {"answer": DEAR}).cost(usage)
    assert expected is not None and budget.used_cost == pytest.approx(expected)
    assert budget.used_cost > CHEAP.cost(usage.total().prompt_tokens, usage.total().completion_tokens)
    # The journal keys each reply with the model of its step.
    keys = {r["step"]: r["key"] for r in map(json.loads, (tmp_path / "responses.jsonl").open()) if "key" in r}
    assert keys["answer"] == response_key("answer", "dear", "chat", "a answer prompt", PARAMS, 1)
    assert keys["query"] == response_key("query", "cheap", "chat", "a query prompt", PARAMS, 1)


def test_a_step_sent_to_another_model_is_not_answered_from_the_first_model_s_journal(
    tmp_path: Path, fake_openai: StartServer
) -> None:
    """Never pay twice, and never replay one model's answer as another's: the key names the step's model."""
    server = fake_openai(_echo)

    async def ask(model: str) -> str:
        journal = ResponseJournal(tmp_path / "responses.jsonl")
        paid = RoutingClient(_endpoint(server, "cheap"), {"answer": _endpoint(server, model)}, ledger=journal)
        client = JournaledClient(paid, journal)
        try:
            assert endpoint_of(paid, "answer").model == model and endpoint_of(paid, "query").model == "cheap"
            return (await client.complete("answer", "the same prompt", PARAMS, seed=3)).text
        finally:
            await client.aclose()
            journal.close()

    assert asyncio.run(ask("dear")) == "dear answers: the same prompt"
    assert asyncio.run(ask("dear")) == "dear answers: the same prompt"  # replayed: one request so far
    assert len(server.requests) == 1
    assert asyncio.run(ask("other")) == "other answers: the same prompt"  # another model: asked
    assert len(server.requests) == 2


def test_budget_release_gives_back_at_the_step_s_prices() -> None:
    """A batch line an earlier process charged its reservation, collected later: the charge given back is priced
    at its step's model's prices, not the main model's."""

    async def go() -> float:
        budget = Budget(max_cost=1.0, prices=CHEAP, step_prices={"answer": DEAR})
        reservation = await budget.reserve("answer", "a prompt", 100)
        await budget.settle(reservation, "answer", "a prompt", 1000, 100)
        await budget.release(1000, 100, "answer")
        return budget.used_cost

    assert asyncio.run(go()) == pytest.approx(0.0)


def test_a_cost_cap_needs_every_step_s_prices() -> None:
    with pytest.raises(ValueError, match="a cost cap needs prices"):
        Budget(max_cost=1.0, prices=CHEAP, step_prices={"answer": None})


def test_step_prices_cost_is_none_when_a_step_that_spent_has_no_price() -> None:
    usage = Usage()
    usage.steps["query"] = StepUsage(requests=1, prompt_tokens=1000, completion_tokens=100)
    usage.steps["answer"] = StepUsage(requests=1, prompt_tokens=2000, completion_tokens=500)
    assert StepPrices(CHEAP, {"answer": None}).cost(usage) is None
    assert StepPrices(CHEAP, {"answer": DEAR}).cost(usage) == pytest.approx(
        CHEAP.cost(1000, 100) + DEAR.cost(2000, 500)
    )
    usage.steps["answer"] = StepUsage()  # a step that spent nothing needs no price
    assert StepPrices(CHEAP, {"answer": None}).cost(usage) == pytest.approx(CHEAP.cost(1000, 100))
