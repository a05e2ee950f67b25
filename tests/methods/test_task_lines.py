"""A "Task:" line inside an instance output is text; a reply that invents the NEXT task ends at it (issue 21).

Instance replies stop at a new task's first example ("\\nExample 1", completions) and, for classification, at the
blank line and "Task:" that open the next task; the parsers end the examples at a "Task:" line only where a new
task begins. Replies go through the official SDK to the loopback fake, which applies stops as each server
does: vLLM names the stop that fired (``stop_reason``), OpenAI, llama.cpp and Ollama do not.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner
from openai import OpenAI

from selfinstruct.cli.app import cli
from selfinstruct.engine.raw_reply import read_reply
from selfinstruct.engine.types import Completion
from selfinstruct.methods.self_instruct.instance_parsing import parse_input_first
from selfinstruct.methods.self_instruct.output_first import parse_output_first
from selfinstruct.methods.self_instruct.params import classification_stops, default_params
from selfinstruct.methods.self_instruct.stopcut import is_cut, stopped_inside_field, task_tail
from selfinstruct.tasks import Instance
from tests.servers import PROFILES, Reply, Request, Responder, StartServer

CLEAN_ENV = {k: None for k in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "SELFINSTRUCT_MODEL", "SELFINSTRUCT_LANGUAGE")}

TODO = "Morning: walk the dog\nTask: buy milk\nEvening: read a book"
JIRA = "PROJ-142 Login fails on Safari\nTask: reproduce on macOS 14\nAssignee: Dana"
ZH_TODO = "上午：遛狗\n任务：买牛奶\n晚上：读书"
NEXT_TASK = "\n\nTask: Invent a slogan for a bakery.\nExample 1\nInput: Not applicable\nOutput: " + "Fresh bread. " * 60
ZH_NEXT_TASK = "\n\n任务：为面包店写一句口号。\n示例 1\n输入：无\n输出：" + "新鲜面包。" * 60


@pytest.fixture
def _instances(scripted: Responder) -> Callable[..., object]:
    def _instances(content: str, *, zh: bool = False, tail: str = "") -> object:
        """A responder whose input-first replies hold `content` as their second example's output, then `tail`."""

        def responder(request: Request) -> Reply | str:
            prompt = request.prompt
            example = "示例 1" if zh else "Example 1"
            if example not in prompt or prompt.rstrip().endswith(("?", "？")) or "Class label" in prompt:
                return scripted(request)
            if zh:
                return f"示例 1\n输入：无\n输出：简短完整的回答。\n示例 2\n输入：周六\n输出：{content}{tail}"
            first = "Example 1\nInput: Not applicable\nOutput: A short, complete answer.\n"
            return f"{first}Example 2\nInput: Saturday\nOutput: {content}{tail}"

        return responder

    return _instances


@pytest.fixture
def _run(fake_openai: StartServer, seeds: Path, zh_seeds: Path) -> Callable[..., list[dict[str, str]]]:
    def _run(tmp_path: Path, responder: object, profile: str, api: str, *, zh: bool = False) -> list[dict[str, str]]:
        out = tmp_path / "run"
        with fake_openai(responder, profile=profile, enforce_max_tokens=True) as server:  # type: ignore[arg-type]
            argv = ["generate", "--seeds", str(zh_seeds if zh else seeds), "--out", str(out), "--base-url", server.url]
            argv += ["--model", "m", "-n", "3", "--seed", "1", "-q", "--classify", "rules", "--api", api]
            argv += ["--language", "zh"] if zh else []
            result = CliRunner().invoke(cli, argv, env=CLEAN_ENV)
            assert not server.errors
        assert result.exit_code == 0, result.stderr
        pool = [json.loads(line) for line in (out / "tasks.jsonl").read_text().splitlines()]
        return [i for t in pool if not t["is_classification"] for i in t["instances"]]

    return _run


@pytest.mark.parametrize("api", ["completions", "chat"])
@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize("content", [TODO, JIRA], ids=["todo", "jira"])
def test_an_output_with_a_task_line_survives_on_every_server(
    tmp_path: Path,
    profile: str,
    api: str,
    content: str,
    _instances: Callable[..., object],
    _run: Callable[..., list[dict[str, str]]],
) -> None:
    """Before: the "\\nTask:" stop cut it there (kept cut on OpenAI/llama.cpp/Ollama, dropped on vLLM)."""
    instances = _run(tmp_path, _instances(content), profile, api)
    outputs = [i["output"] for i in instances]
    assert outputs.count(content) == outputs.count("A short, complete answer.") == len(outputs) // 2 >= 1, outputs


@pytest.mark.parametrize("profile", ["vllm", "ollama"])
def test_a_chinese_output_with_a_task_line_survives(
    tmp_path: Path, profile: str, _instances: Callable[..., object], _run: Callable[..., list[dict[str, str]]]
) -> None:
    outputs = [i["output"] for i in _run(tmp_path, _instances(ZH_TODO, zh=True), profile, "completions", zh=True)]
    assert outputs.count(ZH_TODO) == outputs.count("简短完整的回答。") == len(outputs) // 2 >= 1, outputs


@pytest.mark.parametrize("zh", [False, True], ids=["en", "zh"])
@pytest.mark.parametrize("profile", PROFILES)
def test_a_reply_inventing_the_next_task_ends_at_it(
    tmp_path: Path, profile: str, zh: bool, _instances: Callable[..., object], _run: Callable[..., list[dict[str, str]]]
) -> None:
    """The fake stops it at the new task's first example: ~10 words, not the 350-token budget; the new task's
    header never reaches the pool, and the example above it is kept."""
    content = "Walk the dog before nine." if not zh else "九点前遛狗。"
    instances = _run(tmp_path, _instances(content, zh=zh, tail=ZH_NEXT_TASK if zh else NEXT_TASK), profile,
                     "completions", zh=zh)  # fmt: skip
    outputs = [i["output"] for i in instances]
    assert set(outputs) <= {content, "A short, complete answer.", "简短完整的回答。"}, outputs
    assert content in outputs  # the new task follows a blank line, as in the prompt: no server leaves it unclear
    journal = [json.loads(line) for line in (tmp_path / "run" / "responses.jsonl").read_text().splitlines()]
    replies = [r for r in journal if r.get("step") == "instances" and "text" in r]
    assert replies and all(r["completion_tokens"] < 60 for r in replies)


@pytest.mark.parametrize("profile", ["openai", "vllm"])
def test_a_chat_reply_inventing_the_next_task_keeps_its_own_examples(
    tmp_path: Path, profile: str, _instances: Callable[..., object], _run: Callable[..., list[dict[str, str]]]
) -> None:
    """Chat gets no "\\nExample 1" stop (a preamble may precede its own first example); the parser ends the
    examples where the new task's first example follows its "Task:" line."""
    instances = _run(tmp_path, _instances("Walk the dog.", tail=NEXT_TASK), profile, "chat")
    assert {i["output"] for i in instances} == {"Walk the dog.", "A short, complete answer."}


def test_a_preamble_before_a_chat_reply_s_first_example_is_not_a_stop(fake_openai: StartServer) -> None:
    chat, completions = default_params("chat")["instances"].stop, default_params("completions")["instances"].stop
    assert "\nExample 1" not in chat and "\nExample 1" in completions and len(completions) <= 4
    assert classification_stops(completions) == ("\n\nTask:", "\n\n任务：")
    fake = fake_openai(lambda r: "Sure!\n\nExample 1\nInput: a\nOutput: b", profile="openai")
    with fake as server, OpenAI(base_url=server.url, api_key="k", max_retries=0) as client:
        reply = client.chat.completions.create(
            model="m", messages=[{"role": "user", "content": "x"}], stop=list(chat), max_tokens=50
        )
    assert parse_input_first(reply.choices[0].message.content or "") == [Instance("a", "b")]


def test_a_classification_input_with_a_task_line_survives(
    tmp_path: Path, fake_openai: StartServer, scripted: Responder, seeds: Path
) -> None:
    """Before: "\\nTask:" cut the ticket; now only a blank line and "Task:" (the next task) stop it."""
    ticket = "PROJ-7 Checkout is down\nTask: roll back the release"

    def responder(request: Request) -> Reply | str:
        if "Class label:" not in request.prompt or request.prompt.rstrip().endswith("?"):
            return scripted(request)
        return (
            f"Class label: High\nInput: {ticket}\nClass label: Low\nInput: Typo on the about page\n\nTask: Rate a bug."
        )

    out = tmp_path / "run"
    with fake_openai(responder, profile="openai") as server:
        argv = ["generate", "--seeds", str(seeds), "--out", str(out), "--base-url", server.url, "--model", "m"]
        argv += ["-n", "6", "--seed", "1", "-q", "--classify", "rules", "--api", "completions"]
        result = CliRunner().invoke(cli, argv, env=CLEAN_ENV)
    assert result.exit_code == 0, result.stderr
    pool = [json.loads(line) for line in (out / "tasks.jsonl").read_text().splitlines()]
    inputs = [i["input"] for t in pool if t["is_classification"] for i in t["instances"]]
    assert ticket in inputs and "Rate a bug." not in json.dumps(pool)


# -- the parsers and the stop reading, one reply at a time --------------------------------------------------

TWO = "Example 1\nInput: a\nOutput: first\nExample 2\nInput: b\nOutput: "


def test_a_task_line_ends_the_examples_only_where_a_new_task_begins() -> None:
    assert parse_input_first(TWO + TODO + "\nExample 3\nInput: c\nOutput: third") == [
        Instance("a", "first"), Instance("b", TODO), Instance("c", "third")
    ]  # fmt: skip
    new = TWO + "second\n\nTask: Another task.\nExample 1\nInput: x\nOutput: y"
    assert parse_input_first(new) == [Instance("a", "first"), Instance("b", "second")]
    headerless = "Input: a\nOutput: first\n\nTask: Another task.\nInput: x\nOutput: y"
    assert parse_input_first(headerless) == [Instance("a", "first")]
    assert parse_output_first("Class label: A\nInput: Task: fix it\nnow\nClass label: B\nInput: c") == [
        Instance("Task: fix it\nnow", "A"), Instance("c", "B")
    ]  # fmt: skip
    assert parse_output_first("Class label: A\nInput: a\n\nTask: Next.\nClass label: C\nInput: z") == [
        Instance("a", "A")
    ]  # fmt: skip


def test_a_reply_ending_in_a_task_line_reads_as_the_server_says() -> None:
    text = TWO + "Morning: walk\nTask: buy milk"
    assert parse_input_first(text, task_tail=False)[-1] == Instance("b", "Morning: walk\nTask: buy milk")
    assert parse_input_first(text, task_tail=True) == [Instance("a", "first"), Instance("b", "Morning: walk")]
    assert parse_input_first(text, task_tail=None) == [Instance("a", "first")]  # unknown: cut, dropped
    new = TWO + "second\n\nTask: Another task."  # after a blank line, as the prompt puts each task: a new one
    assert parse_input_first(new, task_tail=None) == [Instance("a", "first"), Instance("b", "second")]
    assert parse_input_first(new, task_tail=False)[-1] == Instance("b", "second\n\nTask: Another task.")
    assert parse_output_first("Class label: A\nInput: a\nTask: b", task_tail=None) == []
    assert parse_input_first(text) == parse_input_first(text, task_tail=True)  # a caller who does not know


def test_task_tail_and_the_new_task_stop() -> None:
    stops = default_params("completions")["instances"].stop
    ends_in_task = "Example 1\nInput: a\nOutput: b\n\nTask: Next one."
    assert task_tail(Completion(ends_in_task, "stop", 1, 1, "\nExample 1"), stops) is True  # vLLM: it fired
    assert task_tail(Completion(ends_in_task, "stop", 1, 1, ""), stops) is False  # vLLM: an EOS
    assert task_tail(Completion(ends_in_task, "stop", 1, 1, None), stops) is None  # OpenAI: unknown
    assert task_tail(Completion(ends_in_task, "stop", 1, 1, None), ("\nExample 6",)) is False  # never sent
    assert not stopped_inside_field(ends_in_task, "\nExample 1")
    assert stopped_inside_field("Example 1\nInput: a\nOutput: Two ways:", "\nExample 1")  # a list in an output
    assert is_cut(Completion("Output: Two ways:", "stop", 1, 1, "\n示例 1"))


def test_vllm_says_when_no_stop_string_fired(fake_openai: StartServer) -> None:
    fake = fake_openai(lambda r: "Output: Morning\nTask: buy milk", profile="vllm")
    with fake as server, OpenAI(base_url=server.url, api_key="k", max_retries=0) as client:
        raw = client.completions.with_raw_response.create(model="m", prompt="p", stop=["\nExample 1"], max_tokens=50)
    assert read_reply(raw.content, "completions").stop_reason == ""


@pytest.mark.parametrize("profile", PROFILES)
def test_an_output_ending_in_a_task_line_is_kept_whole_or_dropped_never_cut(
    tmp_path: Path, profile: str, _instances: Callable[..., object], _run: Callable[..., list[dict[str, str]]]
) -> None:
    """Its last line "Task: call mom" may be where the new-task stop fired (OpenAI, llama.cpp and Ollama do not
    say): kept whole where vLLM says no stop fired, dropped elsewhere; never kept without that line."""
    todo = "Morning: walk the dog\nTask: call mom"
    outputs = [i["output"] for i in _run(tmp_path, _instances(todo), profile, "completions")]
    assert "Morning: walk the dog" not in outputs
    assert (todo in outputs) == (profile == "vllm") and "A short, complete answer." in outputs


@pytest.mark.parametrize("profile", ["openai", "vllm", "llamacpp"])
def test_a_preamble_before_the_reply_s_own_first_example_is_asked_again_unstopped(
    tmp_path: Path, profile: str, scripted: Responder, _run: Callable[..., list[dict[str, str]]]
) -> None:
    """The embedded model wrote "The game starts with two players...\n\nExample 1\nInput: ...": the new-task
    stop ended it before its own first example, and the task was lost. It is asked again without that stop."""

    def responder(request: Request) -> Reply | str:
        if "Example 1" not in request.prompt or "Class label" in request.prompt:
            return scripted(request)
        return "The game starts with two players.\n\nExample 1\nInput: Alex and Ben\nOutput: Ben wins."

    instances = _run(tmp_path, responder, profile, "completions")
    assert instances and all(i == {"input": "Alex and Ben", "output": "Ben wins."} for i in instances)
    journal = [json.loads(line) for line in (tmp_path / "run" / "responses.jsonl").read_text().splitlines()]
    replies = [r["text"] for r in journal if r.get("step") == "instances" and r.get("text", "").startswith("The game")]
    stopped = [t for t in replies if "Example 1" not in t]
    assert len(stopped) == len(replies) - len(stopped) == len(instances)  # stopped, then asked without that stop
