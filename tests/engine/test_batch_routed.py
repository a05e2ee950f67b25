"""The batching router (engine/batch/routed.py): a batching client per endpoint and model sharing one budget, one
journal and one batches.jsonl, each reading back only its own batches; against two loopback fake Batch servers."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path

from selfinstruct.engine.batch.ledger import LEDGER, BatchLedger, owner_of
from selfinstruct.engine.batch.routed import batching_router
from selfinstruct.engine.budget import Budget
from selfinstruct.engine.journal import JOURNAL, ResponseJournal
from selfinstruct.engine.journaled import JournaledClient
from selfinstruct.engine.routing import RoutingClient
from selfinstruct.engine.types import Completion, EndpointSettings, Prices, StepParams, StepPrices, Usage
from tests.servers import FakeBatches, FakeOpenAIServer, Reply, Request, StartServer

PARAMS = StepParams(temperature=0.7, top_p=0.5, max_tokens=64)
ASKED = [(step, f"{step} {i}", i) for step in ("query", "answer") for i in range(3)]


def _answer(request: Request) -> Reply:
    return Reply(text=f"{request.body['model']} on {request.prompt}")


def _router(main: FakeOpenAIServer, strong: FakeOpenAIServer, run: Path, journal: ResponseJournal,
            budget: Budget | None = None) -> RoutingClient:  # fmt: skip
    cheap = EndpointSettings(base_url=main.url, api_key="k-main", model="cheap", max_retries=1)
    routes = {"answer": EndpointSettings(base_url=strong.url, api_key="k-strong", model="strong", max_retries=1)}
    return batching_router(cheap, routes, run / LEDGER, keys={"answer": "env:STRONG_KEY"}, poll_seconds=0.01,
                           notice=lambda _: None, usage=Usage(), budget=budget, journal=journal)  # fmt: skip


def _servers(
    fake_openai: StartServer, fake_batches: Callable[..., FakeBatches]
) -> list[tuple[FakeOpenAIServer, FakeBatches]]:
    out = []
    for key in ("k-main", "k-strong"):
        batches = fake_batches(step_seconds=3600.0)  # in flight until the test says otherwise
        out.append((fake_openai(_answer, api_key=key, routes=batches), batches))
    return out


def test_a_restart_waits_for_the_batches_in_flight_at_both_endpoints(
    tmp_path: Path, fake_openai: StartServer, fake_batches: Callable[..., FakeBatches]
) -> None:
    """A process dies with a batch in flight at each endpoint (its ledger and journal on disk, nothing collected);
    the next one asks the same questions: it makes no batch, polls each where it lives with that endpoint's key
    (the other server has no such batch, or refuses the key), and every answer is its own model's."""
    (main, main_b), (strong, strong_b) = _servers(fake_openai, fake_batches)

    async def killed() -> None:
        journal = ResponseJournal(tmp_path / JOURNAL)
        router = _router(main, strong, tmp_path, journal)
        client = JournaledClient(router, journal)
        asked = [asyncio.ensure_future(client.complete(step, prompt, PARAMS, seed=i)) for step, prompt, i in ASKED]
        while not (main_b.created and strong_b.created):
            await asyncio.sleep(0.01)
        for task in asked:
            task.cancel()
        await asyncio.gather(*asked, return_exceptions=True)
        await router.aclose()
        journal.close()

    async def resumed() -> list[Completion]:
        journal = ResponseJournal(tmp_path / JOURNAL)
        router = _router(main, strong, tmp_path, journal)
        client = JournaledClient(router, journal)
        try:
            return list(await asyncio.gather(*(client.complete(s, p, PARAMS, seed=i) for s, p, i in ASKED)))
        finally:
            await router.aclose()
            journal.close()

    asyncio.run(killed())
    made = (list(main_b.created), list(strong_b.created))
    assert len(made[0]) == len(made[1]) == 1 and not main.requests and not strong.requests
    main_b.step_seconds = strong_b.step_seconds = 0.0  # the batches run on
    answers = asyncio.run(resumed())
    assert [a.text for a in answers] == [f"{'cheap' if s == 'query' else 'strong'} on {p}" for s, p, _ in ASKED]
    assert (main_b.created, strong_b.created) == made  # waited for, none made again
    assert set(main_b.submissions.values()) == set(strong_b.submissions.values()) == {1}
    assert {r.body["model"] for r in main.requests} == {"cheap"} and {r.body["model"] for r in strong.requests} == {
        "strong"
    }
    ledger = [json.loads(line) for line in (tmp_path / LEDGER).read_text().splitlines()]
    assert {r["endpoint"]["model"]: r["endpoint"] for r in ledger if "custom_ids" in r} == {
        "cheap": {"base_url": main.url, "model": "cheap", "api_key": "main"},
        "strong": {"base_url": strong.url, "model": "strong", "api_key": "env:STRONG_KEY"},
    }


def test_each_step_is_charged_at_its_model_s_prices(
    tmp_path: Path, fake_openai: StartServer, fake_batches: Callable[..., FakeBatches]
) -> None:
    """One budget for both endpoints: each line charged at its own step's model's prices."""
    (main, main_b), (strong, strong_b) = _servers(fake_openai, fake_batches)
    main_b.step_seconds = strong_b.step_seconds = 0.0
    pricing = StepPrices(Prices(1.0, 1.0), {"answer": Prices(100.0, 100.0)})
    budget = Budget(max_cost=10.0, prices=pricing.default, step_prices=pricing.steps)

    async def go() -> Usage:
        journal = ResponseJournal(tmp_path / JOURNAL)
        router = _router(main, strong, tmp_path, journal, budget)
        try:
            await asyncio.gather(*(router.complete(s, p, PARAMS, seed=i) for s, p, i in ASKED))
            return router.usage
        finally:
            await router.aclose()
            journal.close()

    spend = asyncio.run(go())
    assert spend.step("answer").requests == spend.step("query").requests == 3
    assert abs(budget.used_cost - (pricing.cost(spend) or 0.0)) < 1e-12
    query, answer = spend.step("query"), spend.step("answer")
    assert budget.used_cost > 100 * (answer.prompt_tokens + answer.completion_tokens) / 1e6 > 0
    assert query.total_tokens > 0


def test_a_ledger_line_belongs_to_its_endpoint_and_an_old_one_to_the_main_endpoint(tmp_path: Path) -> None:
    """batches.jsonl written before lines named their endpoint (one endpoint per run) is the main endpoint's; a
    line of a server that moved is its model's; each client reads back only its own files and their batches."""
    main = {"base_url": "http://a/v1", "model": "cheap", "api_key": "main"}
    strong = {"base_url": "http://b/v1", "model": "strong", "api_key": "env:K"}
    endpoints = [main, strong]
    assert owner_of(None, endpoints) == 0
    assert owner_of(strong, endpoints) == 1 and owner_of(main, endpoints) == 0
    assert owner_of({**strong, "base_url": "http://moved/v1"}, endpoints) == 1
    assert owner_of({"base_url": "http://c/v1", "model": "gone", "api_key": "none"}, endpoints) == 0
    path = tmp_path / LEDGER
    lines = [
        {"file": "f-old", "custom_ids": ["a"], "steps": {"query": 1}},
        {"file": "f-old", "batch": "b1"},
        {"file": "f-old", "custom_ids": ["b"], "steps": {"answer": 1}, "endpoint": strong},
        {"file": "f-old", "batch": "b1", "endpoint": strong},  # (ids are per server: the same at two endpoints)
    ]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    views = [BatchLedger(path, e, lambda found, i=i: owner_of(found, endpoints) == i) for i, e in enumerate(endpoints)]
    assert views[0].batches == {"b1": ["a"]} and views[1].batches == {"b1": ["b"]}
    assert views[0].attempts("b") == [] and views[1].attempts("b") == ["f-old"]
    views[1].add_file("f-new", ["c"], {"answer": 1})
    views[1].add_batch("f-new", "b2")
    assert [json.loads(line)["endpoint"] for line in path.read_text().splitlines()[-2:]] == [strong, strong]
    assert BatchLedger(path).attempts("c") == ["f-new"]  # a reader of one endpoint's ledger: every line
