"""The paper's post-processing end to end against the fake server (issue 11).

Replies cut at max_tokens never leave a cut-off string in the pool: the fake server cuts a share of the
scripted model's replies mid-text and reports finish_reason "length", as an endpoint does when a reply
runs into max_tokens. Every string the scripted model writes has a known complete form, so any cut-off
instance or instruction that reached tasks.jsonl would be visible.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from selfinstruct.cli.app import cli
from selfinstruct.io.seeds import load_tasks
from selfinstruct.stats.compute import compute_stats
from tests.servers import FakeOpenAIServer, Fault, Request, Responder, StartServer

KEY = "sk-test-truncation"
CLEAN_ENV = {"OPENAI_API_KEY": KEY, "OPENAI_BASE_URL": None, "SELFINSTRUCT_MODEL": None}
# The scripted model's complete strings (tests/servers/scripted_model.py).
INSTRUCTION = re.compile(r"^(?:[A-Z][^.]* (?:for [\w\- ]+|as [\w ]+ or [\w ]+)\.)$")
GENERATIVE_OUTPUT = re.compile(r"^Answer \d to '.{1,40}' \(\d{1,2}\)\.$")
LABELLED_INPUT = re.compile(r"^A comment number \d{1,3} that is [\w ]+\.$")
ALPACA_OUTPUT = re.compile(r"^A helpful answer \d{1,3}\.$")


def _share(percent: int, low: int = 0) -> Callable[[Request], bool]:
    """A deterministic choice of requests: those whose prompt hashes into [low, low + percent) of 100."""

    def chosen(request: Request) -> bool:
        bucket = int(hashlib.sha256(request.prompt.encode()).hexdigest(), 16) % 100
        return low <= bucket < low + percent

    return chosen


def _cut_replies(server: FakeOpenAIServer, percent: int) -> None:
    """Cut `percent`% of all replies, at four different depths (so every part of a reply gets cut)."""
    quarter = percent // 4
    for i, keep in enumerate((0.3, 0.55, 0.8, 0.97)):
        server.inject_when(_share(quarter, i * quarter), Fault(cut=keep), times=10**6)


@pytest.fixture
def _generate(seeds: Path) -> Callable[..., None]:
    def _generate(server: FakeOpenAIServer, out: Path, *args: str) -> None:
        argv = ["generate", "--seeds", str(seeds), "--out", str(out), "--base-url", server.url, "--model", "fake-model"]
        result = CliRunner().invoke(cli, [*argv, "--seed", "3", "-q", *args], env=CLEAN_ENV)
        assert result.exit_code == 0, result.stderr

    return _generate


def _pool(out: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in (out / "tasks.jsonl").read_text(encoding="utf-8").splitlines()]


@pytest.mark.parametrize("percent", [12, 48])
def test_no_cut_off_instance_reaches_the_pool(
    tmp_path: Path, percent: int, scripted_server: StartServer, _generate: Callable[..., None]
) -> None:
    with scripted_server(api_key=KEY) as server:
        _cut_replies(server, percent)
        out = tmp_path / "run"
        _generate(server, out, "-n", "40")
        assert server.stats.by_outcome.get("fault_cut", 0) >= len(server.requests) * percent // 200
    pool = _pool(out)
    assert len(pool) == 40
    for task in pool:
        assert INSTRUCTION.match(str(task["instruction"])), task["instruction"]
        instances = task["instances"]
        assert isinstance(instances, list) and instances
        for instance in instances:
            if task["is_classification"]:
                assert LABELLED_INPUT.match(instance["input"]), instance
                assert instance["input"].endswith(f"is {instance['output']}."), instance
            else:
                assert instance["input"] == "" and GENERATIVE_OUTPUT.match(instance["output"]), instance
    run = json.loads((out / "run.json").read_text())
    assert run["usage"]["instances"]["truncated"] > 0 and run["usage"]["instructions"]["truncated"] > 0
    rejected = [json.loads(line) for line in (out / "rejected.jsonl").read_text().splitlines()]
    assert any(r["stage"] == "instances" and r["reason"] == "truncated" for r in rejected)
    stats = compute_stats(out, parse_verbs=False).run
    assert stats is not None and stats.usage["instances"]["truncated"] == run["usage"]["instances"]["truncated"]


def test_alpaca_batches_cut_at_max_tokens_lose_only_their_last_task(
    tmp_path: Path, scripted_server: StartServer, _generate: Callable[..., None]
) -> None:
    with scripted_server(api_key=KEY) as server:
        _cut_replies(server, 48)
        out = tmp_path / "run"
        _generate(server, out, "-n", "80", "--mode", "alpaca")
    pool = _pool(out)
    assert len(pool) == 80
    for task in pool:
        assert INSTRUCTION.match(str(task["instruction"])), task["instruction"]
        assert [i["output"] for i in task["instances"]] and all(  # type: ignore[union-attr]
            ALPACA_OUTPUT.match(i["output"])
            for i in task["instances"]  # type: ignore[union-attr]
        )
    assert json.loads((out / "run.json").read_text())["usage"]["alpaca"]["truncated"] > 0


def test_replies_over_max_tokens_are_cut_like_a_real_server(
    tmp_path: Path, scripted_server: StartServer, _generate: Callable[..., None]
) -> None:
    """The server cuts every reply at max_tokens: small budgets per step still give complete tasks only."""
    with scripted_server(api_key=KEY, enforce_max_tokens=True) as server:
        out = tmp_path / "run"
        _generate(server, out, "-n", "15", "--max-tokens", "instances=18", "--max-tokens", "60")
    pool = _pool(out)
    assert len(pool) == 15
    assert all(INSTRUCTION.match(str(t["instruction"])) for t in pool)
    for task in pool:
        for instance in task["instances"]:  # type: ignore[attr-defined]
            assert GENERATIVE_OUTPUT.match(instance["output"]) or LABELLED_INPUT.match(instance["input"]), instance
    usage = json.loads((out / "run.json").read_text())["usage"]
    assert usage["instances"]["truncated"] > 0


def test_instances_are_asked_with_the_papers_penalty_and_a_seeded_choice_of_five(
    tmp_path: Path, fake_openai: StartServer, scripted: Responder, _generate: Callable[..., None]
) -> None:
    labels = [f"Label {c}" for c in "ABCDEFGH"]
    many = "\n".join(f"Class label: {lab}\nInput: An input for {lab}." for lab in labels)

    def many_labels(request: Request) -> object:
        if "Class label:" in request.prompt and not request.prompt.rstrip().endswith("Is it classification?"):
            return many
        return scripted(request)

    pools = []
    for concurrency in ("1", "8"):
        with fake_openai(many_labels, api_key=KEY) as server:
            out = tmp_path / f"run{concurrency}"
            _generate(server, out, "-n", "30", "--concurrency", concurrency)
            instance_requests = [r for r in server.requests if r.body and "Class label:" in r.prompt]
        assert instance_requests and all(r.body["presence_penalty"] == 1.5 for r in instance_requests)
        pools.append((out / "tasks.jsonl").read_bytes())
        chosen = [[i["output"] for i in t["instances"]] for t in _pool(out) if t["is_classification"]]
        assert chosen and all(len(c) == 5 and c == sorted(c) for c in chosen)
        assert len({tuple(c) for c in chosen}) > 1  # a choice per task, not the first five every time
    assert pools[0] == pools[1]


def test_every_rejection_carries_stage_reason_and_the_raw_reply(
    tmp_path: Path, scripted_server: StartServer, _generate: Callable[..., None]
) -> None:
    unparseable = "I would rather not write examples for this task."
    with scripted_server(api_key=KEY) as server:
        is_list = _ends_with("Task 9:")
        server.inject_when(is_list, Fault(text="@@@ " * 2000), times=1)  # 8,000 characters of garbage
        server.inject_when(is_list, Fault(text=""), times=1)
        server.inject_when(lambda r: "Example 1\nInput:" in r.prompt, Fault(text=unparseable), times=3)
        out = tmp_path / "run"
        _generate(server, out, "-n", "12", "--concurrency", "1")
    rejected = [json.loads(line) for line in (out / "rejected.jsonl").read_text().splitlines()]
    assert rejected
    for record in rejected:
        assert record["stage"] and record["reason"] and isinstance(record["raw"], str), record
        assert len(record["raw"]) <= 4000
    by_reason = {f"{r['stage']}:{r['reason']}": r for r in rejected}
    assert by_reason["response:no_items"]["raw"] == ("@@@ " * 1000)
    assert by_reason["response:empty_response"]["raw"] == ""
    assert by_reason["instances:no_instances_parsed"]["raw"] == unparseable
    assert by_reason["filter:near_duplicate"]["raw"].count("Task") >= 1  # the instruction list it came from


def _ends_with(tail: str) -> Callable[[Request], bool]:
    return lambda request: request.prompt.rstrip().endswith(tail)


def test_a_chat_model_that_echoes_the_demonstrations_gets_its_new_tasks_taken(
    tmp_path: Path, fake_openai: StartServer, scripted: Responder, seeds: Path, _generate: Callable[..., None]
) -> None:
    """Task 1-8 echoed, then Task 9-16 with an input under each: the 8 new tasks are the candidates."""

    def echoing(request: Request) -> object:
        reply = scripted(request)
        if not request.prompt.rstrip().endswith("Task 9:"):
            return reply
        demos = re.findall(r"^Task \d+: .+$", request.prompt, flags=re.M)
        new = [f"{line}\nInput: some material for it" for line in str(getattr(reply, "text", reply)).splitlines()
               if line.startswith("Task ")]  # fmt: skip
        return "Sure! Here is the whole list:\n" + "\n".join(demos + new)

    with fake_openai(echoing, api_key=KEY) as server:
        out = tmp_path / "run"
        _generate(server, out, "-n", "20")
    rejected = [json.loads(line) for line in (out / "rejected.jsonl").read_text().splitlines()]
    seed_instructions = {t.instruction for t in load_tasks(seeds)}
    assert not [r for r in rejected if r.get("similar_to") in seed_instructions and r.get("score") == 1.0]
    assert len(_pool(out)) == 20 and all(INSTRUCTION.match(str(t["instruction"])) for t in _pool(out))
