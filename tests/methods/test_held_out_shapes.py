"""Reply shapes and server constraints beyond issue 21's list (its held-out checks): none may lose an input,
split a task or be refused.

- A reply that starts a line with an invisible character (a byte-order mark some servers and proxies put
  before the body's text, a zero-width space or joiner) is read as without it: before, the first item was lost.
- OpenAI's reasoning models (o-series, gpt-5) refuse max_tokens, non-default temperature/top_p, penalties and
  stop sequences: every default request for them passes the fake's openai profile, which enforces that.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from selfinstruct.audit.settings import JUDGE_PARAMS
from selfinstruct.cli.app import cli
from selfinstruct.engine.reasoning import REASONING_ROOM
from selfinstruct.engine.types import Completion, EndpointSettings, StepParams
from selfinstruct.engine.wire import is_openai_reasoning_model, request_body, request_path
from selfinstruct.methods.alpaca.parsing import parse_alpaca_batch
from selfinstruct.methods.registry import METHODS
from selfinstruct.methods.self_instruct.instance_parsing import parse_input_first
from selfinstruct.methods.self_instruct.output_first import parse_output_first
from selfinstruct.methods.self_instruct.parsing import parse_instruction_list
from selfinstruct.methods.self_instruct.prompts import list_end_stop
from selfinstruct.methods.self_instruct.stopcut import is_cut
from tests.servers import PROFILES, Fault, StartServer, check_request

CLEAN_ENV = {k: None for k in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "SELFINSTRUCT_MODEL", "SELFINSTRUCT_LANGUAGE")}

INPUT_FIRST = (
    "Example 1\nInput: hey can u send me the file\nOutput: Could you send me the file?\n"
    "Example 2\nInput: thx\nOutput: Thank you."
)
OUTPUT_FIRST = "Class label: Positive\nInput: I loved it.\nClass label: Negative\nInput: Awful food."
LIST = "Task 9: Write a poem about tea.\nTask 10: Explain tides to a child.\nTask 11: List three fish."
ALPACA = (
    "1. Instruction: Name a fruit.\n1. Input:\n<noinput>\n1. Output:\nApple.\n###\n"
    "2. Instruction: Add 2 and 3.\n2. Input:\n<noinput>\n2. Output:\n5"
)
INVISIBLE = ["\ufeff", "\u200b", "\u200d", "\u2060"]


def _read(kind: str, text: str) -> object:
    if kind == "input_first":
        return parse_input_first(text)
    if kind == "output_first":
        return parse_output_first(text)
    if kind == "list":
        return parse_instruction_list(text, continued=False, truncated=False, first_number=9).items
    return [(i.instruction, i.input, i.output) for i in parse_alpaca_batch(text, continued=False, truncated=False)[0]]


@pytest.mark.parametrize("mark", INVISIBLE, ids=["bom", "zwsp", "zwj", "word_joiner"])
@pytest.mark.parametrize(
    ("kind", "text"),
    [("input_first", INPUT_FIRST), ("output_first", OUTPUT_FIRST), ("list", LIST), ("alpaca", ALPACA)],
    ids=["input_first", "output_first", "list", "alpaca"],
)
def test_an_invisible_character_before_a_label_loses_nothing(kind: str, text: str, mark: str) -> None:
    whole = _read(kind, text)
    assert whole and len(whole) >= 2  # type: ignore[arg-type]
    assert _read(kind, mark + text) == whole  # the body's first character (a BOM)
    assert _read(kind, text.replace("\n", "\n" + mark)) == whole  # before every line
    assert _read(kind, (mark + text).replace("\n", "\r\n")) == whole


MODELS = ["o1", "o3-mini", "o4-mini", "gpt-5", "gpt-5-mini", "gpt-5.1", "openai/gpt-5-nano"]


def test_which_models_are_openai_reasoning_models() -> None:
    assert all(is_openai_reasoning_model(m) for m in MODELS)
    assert not any(map(is_openai_reasoning_model, ["gpt-4o-mini", "gpt-5-chat-latest", "gpt-4.1", "omni", "llama3"]))


def _reasoning_requests() -> list[tuple[str, str, dict[str, object]]]:
    out = []
    for model, language in itertools.product(MODELS, ("en", "zh")):
        endpoint = EndpointSettings(base_url="https://api.openai.com/v1", api_key="k", model=model, api="chat")
        params = {step: p for m in METHODS.values() for step, p in m.default_params("chat", local=False).items()}
        stops = (*params["instructions"].stop, list_end_stop(language, 17))
        params["instructions"] = dataclasses.replace(params["instructions"], stop=stops)
        for step, p in (params | {"audit": JUDGE_PARAMS}).items():
            out.append((f"{step}/{model}/{language}", request_path(endpoint), request_body(endpoint, "Task 9:", p, 7)))
    return out


@pytest.mark.parametrize(
    ("label", "path", "body"), _reasoning_requests(), ids=lambda v: v if isinstance(v, str) else ""
)
def test_every_default_request_to_an_openai_reasoning_model_passes(
    label: str, path: str, body: dict[str, object]
) -> None:
    """Before: refused with "Unsupported parameter: 'max_tokens' is not supported with this model"."""
    for profile in PROFILES:
        assert check_request(path, body, profile) is None, (label, profile, check_request(path, body, profile))
    assert isinstance(body["max_completion_tokens"], int) and body["max_completion_tokens"] > 0


def test_the_openai_profile_refuses_what_reasoning_models_refuse() -> None:
    chat = "/v1/chat/completions"
    base = {"model": "o4-mini", "messages": [{"role": "user", "content": "hi"}]}
    refused = check_request(chat, {**base, "max_tokens": 5}, "openai")
    assert refused is not None and "Use 'max_completion_tokens' instead" in refused.message
    greedy = check_request(chat, {**base, "temperature": 0.0}, "openai")
    assert greedy is not None and "Only the default (1) value is supported" in greedy.message
    assert check_request(chat, {**base, "stop": ["\n"]}, "openai") is not None
    assert check_request(chat, {**base, "max_completion_tokens": 5, "temperature": 1}, "openai") is None
    plain = {**base, "model": "gpt-4o-mini", "max_tokens": 5, "temperature": 0.0, "stop": ["\n"]}
    assert check_request(chat, plain, "openai") is None
    settings = EndpointSettings(base_url="http://127.0.0.1:9/v1", api_key="k", model="gpt-4o-mini", api="chat")
    body = request_body(settings, "p", StepParams(0.0, 1.0, 8, ("\n",)), 3)
    assert body["max_tokens"] == 8 and body["temperature"] == 0.0 and body["stop"] == ["\n"]  # others unchanged


@pytest.mark.parametrize("model", ["o4-mini", "gpt-5-mini"])
def test_generate_with_an_openai_reasoning_model(
    tmp_path: Path, model: str, scripted_server: StartServer, seeds: Path
) -> None:
    out = tmp_path / "run"
    with scripted_server(profile="openai") as server:
        argv = ["generate", "--seeds", str(seeds), "--out", str(out), "--base-url", server.url, "--model", model]
        result = CliRunner().invoke(cli, [*argv, "-n", "3", "--seed", "1", "-q"], env=CLEAN_ENV)
        assert server.stats.by_outcome.get("invalid_request", 0) == 0
    assert result.exit_code == 0, result.stderr
    assert len([json.loads(line) for line in (out / "tasks.jsonl").read_text().splitlines()]) == 3
    # Its thinking counts in max_completion_tokens: every step has room for it, and the ledger reserves that.
    asked = sorted(r.body["max_completion_tokens"] for r in server.requests)
    journal = [json.loads(line) for line in (out / "responses.jsonl").read_text().splitlines()]
    assert sorted(r["completion_tokens"] for r in journal if "sent" in r) == asked
    assert min(asked) == 8 + REASONING_ROOM  # the yes/no classification, before: 8 tokens, all spent thinking


def test_a_reply_cut_by_a_content_filter_loses_its_last_instance_as_a_cut(
    tmp_path: Path, scripted_server: StartServer, seeds: Path
) -> None:
    """OpenAI and Azure end a filtered reply with finish_reason "content_filter" and keep the text before it:
    before, its half-written last output reached the pool."""
    half = "Example 1\nInput: a\nOutput: A whole answer.\nExample 2\nInput: b\nOutput: A half"
    assert is_cut(Completion(half, "content_filter", 1, 1)) and not is_cut(Completion(half, "stop", 1, 1))
    fault = Fault(text=half, finish_reason="content_filter")
    out = tmp_path / "run"
    with scripted_server(profile="openai") as server:
        server.inject_when(lambda r: "Example 1" in r.prompt and "Class label" not in r.prompt, fault, times=100)
        argv = ["generate", "--seeds", str(seeds), "--out", str(out), "--base-url", server.url, "--model", "m"]
        result = CliRunner().invoke(cli, [*argv, "-n", "3", "--seed", "1", "-q", "--classify", "rules"], env=CLEAN_ENV)
    assert result.exit_code == 0, result.stderr
    pool = [json.loads(line) for line in (out / "tasks.jsonl").read_text().splitlines()]
    outputs = [i["output"] for t in pool for i in t["instances"]]
    assert "A whole answer." in outputs and "A half" not in outputs
