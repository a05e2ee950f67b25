"""A step's own API (StepParams.api): Magpie's answer goes over chat on a `--api completions` endpoint, streamed
or not, journaled under its own API; steps without one are sent, keyed and recorded exactly as before."""

from __future__ import annotations

import asyncio
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest

from selfinstruct.engine.client import LLMClient
from selfinstruct.engine.journal import ResponseJournal, response_key
from selfinstruct.engine.journaled import JournaledClient
from selfinstruct.engine.types import Completion, EndpointSettings, StepParams, Usage
from tests.servers import FakeOpenAIServer, StartServer

PLAIN = StepParams(temperature=0.0, top_p=1.0, max_tokens=16)
CHAT = StepParams(temperature=0.0, top_p=1.0, max_tokens=16, api="chat")


def _ask(server: FakeOpenAIServer, params: StepParams, *, stream: bool = False) -> Completion:
    async def go() -> Completion:
        endpoint = EndpointSettings(base_url=server.url, api_key="k", model="m", api="completions", stream=stream)
        client = LLMClient(endpoint)
        try:
            return await client.complete("answer", "What is a haiku?", params, seed=3)
        finally:
            await client.aclose()

    return asyncio.run(go())


@pytest.mark.parametrize("stream", [False, True])
def test_a_chat_step_on_a_completions_endpoint_goes_over_chat(stream: bool, fake_openai: StartServer) -> None:
    with fake_openai(lambda r: f"via {r.path}") as server:
        assert _ask(server, CHAT, stream=stream).text == "via /v1/chat/completions"
        assert _ask(server, PLAIN, stream=stream).text == "via /v1/completions"
        chat, plain = server.requests
    assert chat.body["messages"] == [{"role": "user", "content": "What is a haiku?"}] and "prompt" not in chat.body
    assert plain.body["prompt"] == "What is a haiku?" and "messages" not in plain.body
    assert "api" not in chat.body and "api" not in plain.body  # ours, never sent


def test_a_step_without_its_own_api_is_keyed_and_recorded_as_before() -> None:
    """Journals and run.json written before the field existed: their keys and settings must stay equal."""
    before = {k: v for k, v in asdict(PLAIN).items() if k not in ("api", "system")} | {"stop": []}
    assert PLAIN.to_dict() == before
    assert CHAT.to_dict() == before | {"api": "chat"}
    plain_key = response_key("answer", "m", "completions", "p", PLAIN, 1)
    assert plain_key != response_key("answer", "m", "chat", "p", CHAT, 1)


def test_the_journal_replays_a_chat_step_of_a_completions_endpoint(tmp_path: Path, fake_openai: StartServer) -> None:
    async def go(server: FakeOpenAIServer) -> list[str]:
        endpoint = EndpointSettings(base_url=server.url, api_key="k", model="m", api="completions")
        texts = []
        for _ in range(2):
            journal = ResponseJournal(tmp_path / "responses.jsonl")
            client: Any = JournaledClient(LLMClient(endpoint), journal, Usage())
            try:
                texts.append((await client.complete("answer", "Q?", CHAT, seed=1)).text)
            finally:
                await client.aclose()
                journal.close()
        return texts

    with fake_openai(lambda r: f"via {r.path}") as server:
        assert asyncio.run(go(server)) == ["via /v1/chat/completions"] * 2
        assert len(server.requests) == 1  # the second run replayed it
