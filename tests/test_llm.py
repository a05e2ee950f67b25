"""LLMClient against the loopback fake: malformed 200 bodies are retried, then reported in one line."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from click.testing import CliRunner

from selfinstruct.cli import cli
from selfinstruct.errors import EndpointError
from selfinstruct.llm import EndpointSettings, LLMClient, StepParams
from tests.fake_openai import FakeOpenAIServer, Fault
from tests.scripted_model import respond

from .conftest import SEEDS

PARAMS = StepParams(temperature=0.0, top_p=1.0, max_tokens=16)
MALFORMED = {
    "broken_json": Fault(body='{"id": "x", "choices": [', content_type="application/json"),
    "html_page": Fault(body="<html><body><h1>502 Bad Gateway</h1>nginx</body></html>", content_type="text/html"),
    "null_choices": Fault(null_choices=True),
    "empty_body": Fault(body="", content_type="application/json"),
}


def _complete(server: FakeOpenAIServer, api: str = "chat", retries: int = 3) -> str:
    async def go() -> str:
        client = LLMClient(
            EndpointSettings(base_url=server.url, api_key="k", model="fake-model", api=api, max_retries=retries)  # type: ignore[arg-type]
        )
        try:
            return (await client.complete("classify", "Say ok", PARAMS)).text
        finally:
            await client.aclose()

    return asyncio.run(go())


@pytest.mark.parametrize("api", ["chat", "completions"])
@pytest.mark.parametrize("kind", sorted(MALFORMED))
def test_malformed_200_is_retried(kind: str, api: str) -> None:
    with FakeOpenAIServer(lambda r: "ok") as server:
        server.inject(MALFORMED[kind])
        assert _complete(server, api) == "ok"
        assert len(server.requests) == 2 and server.pending_faults() == 0


@pytest.mark.parametrize("kind", sorted(MALFORMED))
def test_malformed_200_every_time_is_one_clear_error(kind: str) -> None:
    with FakeOpenAIServer(lambda r: "ok") as server:
        server.inject_when(lambda r: True, MALFORMED[kind], times=100)
        with pytest.raises(EndpointError) as info:
            _complete(server, retries=1)
        message = str(info.value)
        assert message.startswith(server.url) and "malformed 200 response" in message and "gave up after 2" in message
        assert "\n" not in message


@pytest.mark.parametrize("kind", sorted(MALFORMED))
def test_generate_on_a_malformed_endpoint_exits_1_without_traceback(tmp_path: Path, kind: str) -> None:
    with FakeOpenAIServer(respond) as server:
        server.inject_when(lambda r: True, MALFORMED[kind], times=1000)
        argv = ["generate", "--seeds", str(SEEDS), "--out", str(tmp_path / "run"), "--base-url", server.url]
        argv += ["--model", "fake-model", "-n", "3", "--seed", "1", "--max-retries", "1", "-q", "--concurrency", "2"]
        result = CliRunner().invoke(cli, argv, env={"OPENAI_API_KEY": None, "OPENAI_BASE_URL": None})
    assert result.exit_code == 1, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr
    assert server.url in lines[0] and "malformed 200 response" in lines[0]
