"""What the engine's tests share: one request through the client against a fake server."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from selfinstruct.engine.client import LLMClient
from selfinstruct.engine.types import EndpointSettings, StepParams
from tests.servers import FakeOpenAIServer


@pytest.fixture
def complete() -> Callable[..., str]:
    """`complete(server, api="chat", retries=3, timeout=120.0)`: one "classify" request through LLMClient (temperature
    0, 16 tokens) to the fake server; returns the reply's text."""

    def complete(server: FakeOpenAIServer, api: str = "chat", retries: int = 3, timeout: float = 120.0) -> str:
        async def go() -> str:
            kind: Any = api
            endpoint = EndpointSettings(
                base_url=server.url, api_key="k", model="fake-model", api=kind, max_retries=retries, timeout=timeout
            )
            client = LLMClient(endpoint)
            try:
                params = StepParams(temperature=0.0, top_p=1.0, max_tokens=16)
                return (await client.complete("classify", "Say ok", params)).text
            finally:
                await client.aclose()

        return asyncio.run(go())

    return complete
