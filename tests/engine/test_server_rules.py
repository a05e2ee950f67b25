"""Real servers' request rules (tests/servers/server_rules.py) and the defaults that must pass them (issue 21).

Every default request of every step, API, language and model setting is checked against OpenAI's, vLLM's,
llama.cpp's and Ollama's documented constraints; the fake applies them (strict by default) and applies stop
sequences as the servers do, so the end-to-end runs below meet the same refusals and cuts a real run would.
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import json
import re
from collections.abc import Callable
from pathlib import Path

import openai
import pytest
from click.testing import CliRunner
from openai import OpenAI

from selfinstruct.audit.run import RETRY_TEMPERATURE
from selfinstruct.audit.settings import JUDGE_PARAMS, LOCAL_JUDGE_PARAMS
from selfinstruct.cli.app import cli
from selfinstruct.engine.types import Completion, EndpointSettings, StepParams
from selfinstruct.engine.wire import request_body, request_path
from selfinstruct.methods.registry import METHODS
from selfinstruct.methods.self_instruct.parsing import parse_instruction_list
from selfinstruct.methods.self_instruct.prompts import list_end_stop
from selfinstruct.methods.self_instruct.stopcut import is_cut, stopped_inside_field
from tests.servers import (
    PROFILES,
    FakeBatches,
    Reply,
    Request,
    Responder,
    StartServer,
    apply_stop,
    check_request,
    instruction_for,
    rng_for,
)

CLEAN_ENV = {k: None for k in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "SELFINSTRUCT_MODEL", "SELFINSTRUCT_LANGUAGE")}


def _default_requests() -> list[tuple[str, str, dict[str, object]]]:
    """(label, path, body) of every default request: step x API x language x embedded or not, and the judge's."""
    out = []
    for api, local, language in itertools.product(("chat", "completions"), (False, True), ("en", "zh")):
        endpoint = EndpointSettings(base_url="http://127.0.0.1:9/v1", api_key="k", model="m", api=api)
        params = {step: p for m in METHODS.values() for step, p in m.default_params(api, local=local).items()}
        # The instruction list also stops at the marker after the last task asked for (see bootstrap._params).
        stops = tuple(dict.fromkeys((*params["instructions"].stop, list_end_stop(language, 17))))[:4]
        params["instructions"] = dataclasses.replace(params["instructions"], stop=stops)
        judge = LOCAL_JUDGE_PARAMS if local else JUDGE_PARAMS
        params |= {"audit": judge, "audit_retry": dataclasses.replace(judge, temperature=RETRY_TEMPERATURE)}
        for step, p in params.items():
            label = f"{step}/{api}/{language}/{'embedded' if local else 'endpoint'}"
            out.append((label, request_path(endpoint, p), request_body(endpoint, "Task 9:", p, seed=2**31 - 1)))
    return out


@pytest.mark.parametrize(("label", "path", "body"), _default_requests(), ids=lambda v: v if isinstance(v, str) else "")
def test_every_default_request_passes_every_server(label: str, path: str, body: dict[str, object]) -> None:
    for profile in PROFILES:
        assert check_request(path, body, profile) is None, (label, profile, check_request(path, body, profile))
    stops = body.get("stop") or []
    assert isinstance(stops, list) and len(stops) <= 4
    # Line-anchored: a stop fires only where the format puts the next item, never inside a line of content.
    assert all(isinstance(s, str) and s.startswith("\n") for s in stops), stops


def test_each_profile_refuses_what_its_server_documents() -> None:
    chat = "/v1/chat/completions"
    base = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
    greedy_top_p_0 = check_request(chat, {**base, "temperature": 0.0, "top_p": 0.0}, "vllm")
    assert greedy_top_p_0 is not None and greedy_top_p_0.message == "top_p must be in (0, 1], got 0.0."
    five_stops = check_request(chat, {**base, "stop": ["a", "b", "c", "d", "e"]}, "openai")
    assert five_stops is not None and "maximum length 4" in five_stops.message
    unknown = check_request(chat, {**base, "top_k": 5}, "openai")
    assert unknown is not None and unknown.message == "Unrecognized request argument supplied: top_k"
    assert check_request(chat, {**base, "top_k": 5}, "vllm") is None  # vLLM ignores fields it does not know
    two = check_request(chat, {**base, "n": 2}, "llamacpp")
    assert two is not None and two.message == "Only one completion choice is allowed"
    listed = check_request("/v1/completions", {"model": "m", "prompt": ["a"]}, "ollama")
    assert listed is not None and "of type string" in listed.message
    assert check_request(chat, {**base, "stop": [""]}, "vllm") is not None
    assert check_request(chat, {**base, "temperature": 2.5}, "strict") is not None


def test_the_fake_refuses_over_http_with_the_server_message(fake_openai: StartServer) -> None:
    with fake_openai() as server, OpenAI(base_url=server.url, api_key="k", max_retries=0) as client:
        with pytest.raises(openai.BadRequestError) as caught:
            client.completions.create(model="m", prompt="x", temperature=0.0, top_p=0.0)
        assert "top_p must be in (0, 1], got 0.0" in str(caught.value)
        assert server.stats.by_outcome == {"invalid_request": 1}
        assert client.completions.create(model="m", prompt="x", temperature=0.0, top_p=1.0).choices[0].text


def test_a_batch_line_a_server_would_refuse_fails_with_its_message(
    fake_batches: Callable[..., FakeBatches], fake_openai: StartServer
) -> None:
    from selfinstruct.engine.batch.api import BatchClient, BatchRequest

    greedy = StepParams(temperature=0.0, top_p=1.0, max_tokens=8)

    async def go(settings: EndpointSettings) -> tuple[set[str], str]:
        client = BatchClient(settings, poll_seconds=0.01, max_poll_seconds=0.02)
        try:
            requests = [
                BatchRequest("ok", "a", greedy),
                BatchRequest("bad", "b", dataclasses.replace(greedy, top_p=0.0)),
            ]
            final = await client.wait((await client.submit(requests)).id, None)
            results = await client.results(final, ["ok", "bad"])
            return set(results.completions), str(results.failures["bad"])
        finally:
            await client.aclose()

    with fake_openai(lambda r: "fine", routes=fake_batches()) as server:
        settings = EndpointSettings(base_url=server.url, api_key="k", model="m", api="chat", max_retries=0)
        answered, failure = asyncio.run(go(settings))
    assert answered == {"ok"} and "top_p must be in (0, 1], got 0.0" in failure


def test_the_fake_applies_the_earliest_stop_as_servers_do(fake_openai: StartServer) -> None:
    assert apply_stop("Total: $20.50\n20. next", ["\n20.", "20."]) == ("Total: $", "20.")
    assert apply_stop("Total: $20.50\n20. next", ["\n20."]) == ("Total: $20.50", "\n20.")
    assert apply_stop("no stop here", ["\nTask:"]) == ("no stop here", None)
    text = "Example 1\nInput: a\nOutput: b\nTask: other"
    with (
        fake_openai(lambda r: text) as strict,
        fake_openai(lambda r: text, profile="openai") as plain,
    ):
        for server, reason in ((strict, "\nTask:"), (plain, None)):
            with OpenAI(base_url=server.url, api_key="k", max_retries=0) as client:
                reply = client.completions.create(model="m", prompt="p", stop=["\nTask:"], max_tokens=50)
            choice = reply.choices[0]
            assert (choice.text, choice.finish_reason) == ("Example 1\nInput: a\nOutput: b", "stop")
            assert getattr(choice, "stop_reason", None) == reason  # vLLM names the stop; OpenAI does not


# -- stops that cut content (defect 4) ----------------------------------------------------------------------


@pytest.fixture
def _alpaca_with_prices(scripted: Responder) -> Callable[..., Reply | str]:
    def _alpaca_with_prices(request: Request) -> Reply | str:
        """Alpaca batches whose outputs quote a price of $20.50: a bare "20." stop ended them at the "$"."""
        tail = request.prompt.rstrip()
        if not (tail.endswith("Instruction:") and "###" in request.prompt):
            return scripted(request)
        first = int(re.findall(r"(\d+)\. Instruction:\s*$", tail)[0])
        rng = rng_for(request.prompt)
        blocks = [
            f"{i}. Instruction: {instruction_for(rng)}\n{i}. Input:\n<noinput>\n{i}. Output:\n"
            f"Two tickets for the show cost $20.50 together (case {rng.randint(1, 999)})."
            for i in range(first, 21)
        ]
        return "\n###\n".join(blocks).split("Instruction:", 1)[1]

    return _alpaca_with_prices


def test_a_price_in_an_output_is_kept_whole(
    tmp_path: Path, fake_openai: StartServer, seeds: Path, _alpaca_with_prices: Callable[..., Reply | str]
) -> None:
    out = tmp_path / "run"
    with fake_openai(_alpaca_with_prices) as server:
        argv = ["generate", "--seeds", str(seeds), "--out", str(out), "--base-url", server.url, "--model", "m"]
        argv += ["--mode", "alpaca", "--api", "completions", "-n", "6", "--seed", "1", "-q"]
        result = CliRunner().invoke(cli, argv, env=CLEAN_ENV)
    assert result.exit_code == 0, result.stderr
    outputs = [t["instances"][0]["output"] for t in map(json.loads, (out / "tasks.jsonl").read_text().splitlines())]
    assert len(outputs) == 6
    assert all(o.startswith("Two tickets for the show cost $20.50 together") for o in outputs), outputs


def test_stopped_inside_field_reads_where_the_stop_fired() -> None:
    assert stopped_inside_field("Output: Morning: walk", "\nTask:")  # a content line began with the stop
    assert not stopped_inside_field("Output: done\n", "\nTask:")  # after a blank line: the next task
    assert not stopped_inside_field("19. Output:\nfine\n###", "\n20.")  # after the separator: task 20
    assert not stopped_inside_field("Output: five", "\nExample 6")  # a new example always ends the last
    assert stopped_inside_field("Two tickets cost $", "20.")  # an unanchored stop fired mid-line
    assert stopped_inside_field("Output: Morning: walk\n", "Task:")  # unanchored, at the start of a content line
    assert not stopped_inside_field("Output: done\n\n", "Task:")  # unanchored, after a blank line
    assert not stopped_inside_field("Task 16: last", "\n\n")
    assert not stopped_inside_field("Output: anything", None)  # the server did not say: an EOS, as it were
    assert is_cut(Completion("x", "length", 1, 1)) and not is_cut(Completion("x", "stop", 1, 1))


# -- the open line of a chat reply (defect 6) ---------------------------------------------------------------


def test_a_chat_reply_s_first_line_answers_the_open_task() -> None:
    reply = "Compose a lullaby about the sea.\nTask 10: Explain tides to a child.\nTask 11: List three fish."
    assert parse_instruction_list(reply, continued=True, truncated=False, first_number=9).items == [
        "Compose a lullaby about the sea.",
        "Explain tides to a child.",
        "List three fish.",
    ]
    intro = "New tasks for the list\nTask 9: Explain tides to a child.\nTask 10: List three fish."
    assert parse_instruction_list(intro, continued=True, truncated=False, first_number=9).items == [
        "Explain tides to a child.",
        "List three fish.",
    ]


@pytest.fixture
def _open_line_chat(scripted: Responder) -> Callable[..., Reply | str]:
    def _open_line_chat(request: Request) -> Reply | str:
        """A chat model that answers the open "Task N:" line first, then numbers the rest."""
        m = re.search(r"Task (\d+):$", request.prompt)
        if m is None:
            return scripted(request)
        first = int(m.group(1))
        rng = rng_for(request.prompt)
        lines = [f"Compose an open-line riddle about {rng.randint(1, 10**6)} owls."]
        lines += [f"Task {first + i}: {instruction_for(rng)}" for i in range(1, 8)]
        return "\n".join(lines)

    return _open_line_chat


def test_chat_mode_keeps_the_instruction_on_the_open_line(
    tmp_path: Path, fake_openai: StartServer, seeds: Path, _open_line_chat: Callable[..., Reply | str]
) -> None:
    out = tmp_path / "run"
    with fake_openai(_open_line_chat) as server:
        argv = ["generate", "--seeds", str(seeds), "--out", str(out), "--base-url", server.url, "--model", "m"]
        argv += ["-n", "10", "--seed", "1", "-q", "--api", "chat"]
        result = CliRunner().invoke(cli, argv, env=CLEAN_ENV)
    assert result.exit_code == 0, result.stderr
    records = (out / "tasks.jsonl").read_text() + (out / "rejected.jsonl").read_text()
    assert "open-line riddle" in records


# -- what --dry-run priced (defect 12) and the embedded model's languages (defect 13) -----------------------


def test_dry_run_names_endpoint_model_api_and_pipeline(tmp_path: Path, seeds: Path) -> None:
    argv = ["generate", "--seeds", str(seeds), "--out", str(tmp_path / "run"), "-n", "20", "--dry-run"]
    embedded = CliRunner().invoke(cli, argv, env=CLEAN_ENV)
    keyed = CliRunner().invoke(cli, argv, env={**CLEAN_ENV, "OPENAI_API_KEY": "sk-test"})
    assert embedded.exit_code == 0 and keyed.exit_code == 0
    assert "endpoint: embedded llama.cpp server" in embedded.stdout
    assert "model: smollm2-135m-instruct (embedded)" in embedded.stdout
    assert "api: completions" in embedded.stdout and "classification by rules" in embedded.stdout
    assert "endpoint: https://api.openai.com/v1" in keyed.stdout and "model: gpt-4o-mini" in keyed.stdout
    assert "api: chat" in keyed.stdout and "classification by the model" in keyed.stdout
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("command", ["generate", "audit"])
def test_the_embedded_model_is_refused_for_chinese(tmp_path: Path, command: str, zh_seeds: Path) -> None:
    out = tmp_path / "run"
    if command == "generate":
        argv = ["generate", "--seeds", str(zh_seeds), "--language", "zh", "-n", "5", "--out", str(out)]
    else:
        out.mkdir()
        (out / "tasks.jsonl").write_text("")
        argv = ["audit", str(out), "--language", "zh"]
    result = CliRunner().invoke(cli, argv, env=CLEAN_ENV)
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "English only" in lines[0] and "--local-model PATH.gguf" in lines[0], lines
    assert sorted(p.name for p in tmp_path.rglob("*")) == ([] if command == "generate" else ["run", "tasks.jsonl"])


def test_cli_top_p_zero_is_refused_before_any_request(tmp_path: Path, fake_openai: StartServer, seeds: Path) -> None:
    with fake_openai() as server:
        argv = ["generate", "--seeds", str(seeds), "--out", str(tmp_path / "run"), "--base-url", server.url]
        result = CliRunner().invoke(cli, [*argv, "--top-p", "classify=0"], env=CLEAN_ENV)
        assert result.exit_code == 2 and "above 0" in result.stderr and server.requests == []


def test_step_params_defaults_are_greedy_without_top_p_zero() -> None:
    for api, local in itertools.product(("chat", "completions"), (False, True)):
        every = {step: p for m in METHODS.values() for step, p in m.default_params(api, local=local).items()}
        for step, p in every.items():
            assert isinstance(p, StepParams) and 0.0 < p.top_p <= 1.0, (api, local, step)


def test_the_journal_keeps_the_stop_that_ended_a_reply(tmp_path: Path) -> None:
    from selfinstruct.engine.journal import ResponseJournal

    cut = Completion("Example 1\nInput: a\nOutput: Morning: walk", "stop", 40, 9, "\nTask:")
    journal = ResponseJournal(tmp_path / "responses.jsonl")
    asyncio.run(journal.append("k", "instances", 1, cut))
    journal.close()
    again = ResponseJournal(tmp_path / "responses.jsonl")
    replayed = again.get("k")
    again.close()
    assert replayed == cut and replayed is not None and is_cut(replayed)  # a resumed run reads the same cut
