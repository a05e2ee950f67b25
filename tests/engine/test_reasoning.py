"""A reasoning model's separate thinking field is never taken for its answer (issue 11)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from click.testing import CliRunner

from selfinstruct.cli.app import cli
from selfinstruct.engine.client import LLMClient
from selfinstruct.engine.reasoning import spent_on_thinking
from selfinstruct.engine.types import EndpointSettings, StepParams
from tests.servers import Fault, Reply, Request, Responder, StartServer

CLEAN_ENV = {k: None for k in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "SELFINSTRUCT_MODEL", "SELFINSTRUCT_LANGUAGE")}


def test_reasoning_content_is_not_the_answer(fake_openai: StartServer) -> None:
    params = StepParams(temperature=0.0, top_p=1.0, max_tokens=20)

    async def ask(url: str) -> list[str]:
        client = LLMClient(EndpointSettings(base_url=url, api_key="k", model="fake-model", max_retries=0))
        try:
            return [(await client.complete("classify", "Is it?", params)).text for _ in range(2)]
        finally:
            await client.aclose()

    with fake_openai(lambda req: Reply(text="")) as server:
        server.inject(Fault(reasoning_content="Yes, it is classification."))
        server.inject(Fault(reasoning_content="Task 9: Write a poem.", text="No"))
        answers = asyncio.run(ask(server.url))
    assert answers == ["", "No"]


def test_spent_on_thinking_is_a_cut_reply_with_no_answer() -> None:
    assert spent_on_thinking("<think>Let me see, the task asks", "length")
    assert spent_on_thinking("", "length")  # the thinking went to reasoning_content (vLLM's reasoning parser)
    assert not spent_on_thinking("<think>short</think> Yes", "length")  # an answer began: an ordinary cut
    assert not spent_on_thinking("<think>done</think>", "stop")  # ended on its own: an empty answer, said elsewhere


def test_a_model_that_thinks_through_the_classify_budget_is_told_once_what_to_do(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, fake_openai: StartServer, scripted: Responder, seeds: Path
) -> None:
    """A reasoning model on vLLM or Ollama (Qwen3, R1 distills) gets the plain budgets; its thinking used the
    8-token yes/no of classify, and the run only saw cut replies. Before: nothing said why."""

    def thinking_classifier(request: Request) -> Reply | str:
        if request.body.get("max_tokens", 0) <= 8:  # classify
            return "<think>Hmm, is this a classification task? Let me think about what the labels would be"
        return scripted(request)

    argv = ["generate", "--seeds", str(seeds), "--out", str(tmp_path / "run"), "--model", "qwen3-8b", "-n", "3"]
    with fake_openai(thinking_classifier, enforce_max_tokens=True) as server:
        result = CliRunner().invoke(cli, [*argv, "--base-url", server.url, "--seed", "1", "-q"], env=CLEAN_ENV)
    assert "Traceback" not in result.stderr
    notes = [r.getMessage() for r in caplog.records if "before it wrote any answer" in r.getMessage()]
    assert len(notes) == 1, notes
    assert "step classify" in notes[0] and "--max-tokens classify=2056" in notes[0], notes[0]
