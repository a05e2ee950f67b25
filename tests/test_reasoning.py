"""A reasoning model's separate thinking field is never taken for its answer (issue 11)."""

from __future__ import annotations

import asyncio

from selfinstruct.llm import EndpointSettings, LLMClient, StepParams
from tests.fake_openai import FakeOpenAIServer, Fault, Reply


def test_reasoning_content_is_not_the_answer() -> None:
    params = StepParams(temperature=0.0, top_p=1.0, max_tokens=20)

    async def ask(url: str) -> list[str]:
        client = LLMClient(EndpointSettings(base_url=url, api_key="k", model="fake-model", max_retries=0))
        try:
            return [(await client.complete("classify", "Is it?", params)).text for _ in range(2)]
        finally:
            await client.aclose()

    with FakeOpenAIServer(lambda req: Reply(text="")) as server:
        server.inject(Fault(reasoning_content="Yes, it is classification."))
        server.inject(Fault(reasoning_content="Task 9: Write a poem.", text="No"))
        answers = asyncio.run(ask(server.url))
    assert answers == ["", "No"]
