"""Requests beyond the model's context, as each server treats them (issue 21): the fake's ``context`` option.

Over the official SDK against the loopback fake: vLLM and OpenAI refuse prompt + max_tokens beyond the context
(400), llama.cpp refuses a prompt beyond it (400 exceed_context_size_error), Ollama cuts the prompt silently.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from selfinstruct.cli.app import cli
from selfinstruct.engine.client import LLMClient
from selfinstruct.engine.context_window import ContextLengthError, Overflow, read_overflow, truncated_prompt
from selfinstruct.engine.types import EndpointSettings, StepParams
from tests.servers import FakeOpenAIServer, StartServer

CLEAN_ENV = {k: None for k in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "SELFINSTRUCT_MODEL", "SELFINSTRUCT_LANGUAGE")}

# The servers' own words (vLLM by version, OpenAI, llama.cpp, a proxy's 413).
MESSAGES = [
    ("This model's maximum context length is 4096 tokens. However, you requested 1024 output tokens and your prompt "
     "contains at least 3500 input tokens, for a total of at least 4524 tokens. Please reduce the length of the "
     "input prompt or the number of requested output tokens. (parameter=input_tokens, value=3500)",
     {"param": "input_tokens"}, Overflow(4096, 3500, "vLLM")),
    ("'max_tokens' or 'max_completion_tokens' is too large: 8000. This model's maximum context length is 4096 "
     "tokens and your request has 2778 input tokens (8000 > 4096 - 2778). None", {}, Overflow(4096, 2778, "vLLM")),
    ("max_tokens=9000 cannot be greater than max_model_len=8192. Please request fewer output tokens.", {},
     Overflow(8192, None, "vLLM", max_tokens_beyond=True)),
    ("This model's maximum context length is 2048 tokens. However, you requested 2600 tokens (1600 in the "
     "messages, 1000 in the completion). Please reduce the length of the messages or completion.", {},
     Overflow(2048, 1600, "")),
    ("This model's maximum context length is 8192 tokens. However, you requested 8220 tokens in the messages, "
     "Please reduce the length of the messages.", {}, Overflow(8192, 8220, "")),
    ("You passed 4 input tokens and requested 2045 output tokens. However, the model's context length is only "
     "2048 tokens, resulting in a maximum input length of 3 tokens.", {}, Overflow(2048, 4, "")),
    ("This model's maximum context length is 128000 tokens. However, your messages resulted in 130512 tokens. "
     "Please reduce the length of the messages.", {"code": "context_length_exceeded"}, Overflow(128000, 130512, "")),
    ("request (5000 tokens) exceeds the available context size (4096 tokens), try increasing it",
     {"type": "exceed_context_size_error", "n_prompt_tokens": 5000, "n_ctx": 4096}, Overflow(4096, 5000, "llama.cpp")),
    ("the request exceeds the available context size. try increasing the context size or enable context shift",
     {"type": "exceed_context_size_error"}, Overflow(None, None, "llama.cpp")),
]  # fmt: skip


@pytest.mark.parametrize(("message", "fields", "expected"), MESSAGES)
def test_each_server_s_words_are_read(message: str, fields: dict[str, object], expected: Overflow) -> None:
    assert read_overflow(400, {"error": {"message": message, **fields}}, message) == expected


def test_other_refusals_are_not_overflows_and_what_fits_is_computed() -> None:
    assert read_overflow(400, {"error": {"message": "top_p must be in (0, 1], got 0.0."}}, "top_p ...") is None
    assert read_overflow(413, None, "Request Entity Too Large") == Overflow(None, None, "")
    assert Overflow(4096, 3500, "").fitting_max_tokens(1024) == 596
    assert Overflow(4096, 4096, "").fitting_max_tokens(1024) is None  # the prompt itself does not fit
    assert Overflow(4096, None, "").fitting_max_tokens(1024) is None  # not said: not guessed
    assert Overflow(1000, None, "vLLM", max_tokens_beyond=True).fitting_max_tokens(1024) == 999  # beyond it alone
    assert Overflow(1000, None, "").fitting_max_tokens(1024) is None  # the prompt's size unknown: not guessed
    assert Overflow(4096, 100, "").fitting_max_tokens(1024) is None  # fits already: some other refusal
    assert truncated_prompt("word " * 2000, 512) and not truncated_prompt("word " * 2000, 1800)
    assert not truncated_prompt("short prompt", 1)


@pytest.fixture
def _generate(seeds: Path) -> Callable[..., tuple[int, str]]:
    def _generate(server: FakeOpenAIServer, out: Path, *extra: str) -> tuple[int, str]:
        argv = ["generate", "--seeds", str(seeds), "--out", str(out), "--base-url", server.url, "--model", "m"]
        argv += ["-n", "3", "--seed", "1", "-q", *extra]
        result = CliRunner().invoke(cli, argv, env=CLEAN_ENV)
        return result.exit_code, result.stderr

    return _generate


@pytest.mark.parametrize("profile", ["vllm", "openai", "strict"])
def test_max_tokens_beyond_the_context_is_asked_again_once_with_what_fits(
    tmp_path: Path,
    profile: str,
    caplog: pytest.LogCaptureFixture,
    scripted_server: StartServer,
    _generate: Callable[..., tuple[int, str]],
) -> None:
    """Instruction prompts are ~320 words: 320 + 1024 > 1000. Before: exit 1 after "fewer demonstrations"."""
    out = tmp_path / "run"
    with scripted_server(profile=profile, context=1000) as server:
        code, stderr = _generate(server, out)
        refused = [r for r in server.requests if r.body["max_tokens"] in (1024, 999)]
        clamped = [r for r in server.requests if r.body["max_tokens"] == 1000 - len(r.prompt.split())]
    assert code == 0, stderr
    first = [r for r in refused if r.body["max_tokens"] == 1024]
    assert first and len(clamped) == len(first)  # each request asked again with what fits (vLLM: after 999)
    notes = [r.getMessage() for r in caplog.records if "does not fit beside" in r.getMessage()]
    assert len(notes) == 1 and "against a context of 1,000 tokens" in notes[0], notes  # said once (on stderr)
    journal = [json.loads(line) for line in (out / "responses.jsonl").read_text().splitlines()]
    sent = [r["sent"] for r in journal if "sent" in r]
    assert len([r for r in journal if "refused" in r]) == len(refused)  # a 400 costs nothing
    assert len(sent) == len(server.requests)  # every attempt reserved first
    assert len((out / "tasks.jsonl").read_text().splitlines()) == 3


@pytest.mark.parametrize(
    ("profile", "fix"),
    [("vllm", "--max-model-len"), ("openai", "a model with a larger context"), ("llamacpp", "--ctx-size")],
)
def test_a_prompt_beyond_the_context_stops_the_run_in_one_line(
    tmp_path: Path, profile: str, fix: str, scripted_server: StartServer, _generate: Callable[..., tuple[int, str]]
) -> None:
    """Before, llama.cpp's refusal was not read as one for length: "request rejected (400)", no fix named."""
    out = tmp_path / "run"
    with scripted_server(profile=profile, context=120) as server:
        code, stderr = _generate(server, out)
    lines = stderr.strip().splitlines()
    assert code == 1 and len(lines) == 1 and "Traceback" not in stderr, stderr
    assert "against a context of 120 tokens" in lines[0] and "a prompt of " in lines[0] and fix in lines[0]
    assert "shorter seed instructions" in lines[0] and "even with fewer demonstrations" in lines[0]
    assert "--demos" not in lines[0]  # no such option: the fix named must be one a user can apply
    assert json.loads((out / "run.json").read_text())["status"] == "failed"
    with scripted_server(profile=profile) as server:  # a larger context: the run resumes
        code, stderr = _generate(server, out)
    assert code == 0 and len((out / "tasks.jsonl").read_text().splitlines()) == 3, stderr


def test_ollama_s_silent_prompt_truncation_is_warned_of_once(
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    scripted_server: StartServer,
    _generate: Callable[..., tuple[int, str]],
) -> None:
    def notes() -> list[str]:
        return [r.getMessage() for r in caplog.records if "cut the prompt to its context" in r.getMessage()]

    with scripted_server(profile="ollama", context=100) as server:
        code, stderr = _generate(server, tmp_path / "run")
    assert code == 0, stderr
    assert len(notes()) == 1 and "OLLAMA_CONTEXT_LENGTH" in notes()[0] and "num_ctx" in notes()[0], notes()
    caplog.clear()
    with scripted_server(profile="ollama", context=5000) as server:
        code, stderr = _generate(server, tmp_path / "run2")
    assert code == 0 and not notes()


def test_llamacpp_ends_a_reply_at_the_context_end_as_a_cut(fake_openai: StartServer) -> None:
    """llama.cpp checks the prompt only: a reply that reaches the context's end comes back "length"."""

    async def go(url: str) -> tuple[str, str]:
        client = LLMClient(EndpointSettings(base_url=url, api_key="k", model="m", api="completions", max_retries=0))
        try:
            got = await client.complete("instances", "one two three", StepParams(0.0, 1.0, 50))
        finally:
            await client.aclose()
        return got.text, got.finish_reason

    with fake_openai(lambda r: "a b c d e f g h", profile="llamacpp", context=8) as server:
        assert asyncio.run(go(server.url)) == ("a b c d e", "length")


def test_a_context_error_carries_what_the_server_said(fake_openai: StartServer) -> None:
    async def go(url: str) -> None:
        client = LLMClient(EndpointSettings(base_url=url, api_key="k", model="m", api="chat", max_retries=0))
        try:
            await client.complete("classify", "word " * 50, StepParams(0.0, 1.0, 8))
        finally:
            await client.aclose()

    with fake_openai(lambda r: "ok", profile="vllm", context=20) as server:
        with pytest.raises(ContextLengthError) as info:
            asyncio.run(go(server.url))
        assert len(server.requests) == 1  # the prompt itself does not fit: not asked again
    assert info.value.overflow == Overflow(20, 50, "vLLM")
