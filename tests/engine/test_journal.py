"""The response journal: durable before use, replayed instead of paid again, robust to torn and foreign lines."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from selfinstruct.engine.budget import LineCharge
from selfinstruct.engine.client import LLMClient
from selfinstruct.engine.journal import ResponseJournal, label, response_key
from selfinstruct.engine.journaled import JournaledClient
from selfinstruct.engine.types import Completion, EndpointSettings, StepParams
from selfinstruct.errors import PoolError
from tests.servers import FakeOpenAIServer, Reply, Request, Responder, StartServer

KEY = "sk-test-journal"
PARAMS = StepParams(temperature=0.7, top_p=0.5, max_tokens=64)


def test_keys_are_the_ones_earlier_versions_wrote() -> None:
    """A key is how a resume finds what was paid for: made faster (the parameters' part once per parameter
    set), it must stay the same hash, or every journal written before would be paid for again."""
    params = StepParams(temperature=0.7, top_p=0.5, max_tokens=64, stop=("\n\n", "Task 2:"))
    for _ in range(2):  # made, then cached
        key = response_key("instances", "m", "chat", "Write a poem — 诗", params, 3)
        assert key == "fe1b5b8142ff922f0afb6faf05f921879fc77cefbe4abdd9513935eb9d6ba91f"


def test_key_covers_every_part_of_the_question() -> None:
    base = response_key("instructions", "m", "chat", "prompt", PARAMS, 1)
    assert base == response_key("instructions", "m", "chat", "prompt", PARAMS, 1)
    others = [
        response_key("classify", "m", "chat", "prompt", PARAMS, 1),
        response_key("instructions", "m2", "chat", "prompt", PARAMS, 1),
        response_key("instructions", "m", "completions", "prompt", PARAMS, 1),
        response_key("instructions", "m", "chat", "prompt!", PARAMS, 1),
        response_key("instructions", "m", "chat", "prompt", StepParams(0.7, 0.5, 65), 1),
        response_key("instructions", "m", "chat", "prompt", StepParams(0.7, 0.5, 64, stop=("x",)), 1),
        response_key("instructions", "m", "chat", "prompt", PARAMS, 2),
        response_key("instructions", "m", "chat", "prompt", PARAMS, None),
    ]
    assert len({base, *others}) == len(others) + 1


def test_append_then_reopen_replays(tmp_path: Path) -> None:
    path = tmp_path / "responses.jsonl"
    journal = ResponseJournal(path)
    label(request=3, candidate=1)
    asyncio.run(journal.append("k1", "classify", 5, Completion("Yes", "stop", 40, 1)))
    asyncio.run(journal.append("k2", "instances", 6, Completion("Example 1\n写", "length", 50, 9)))
    assert journal.get("k1") == Completion("Yes", "stop", 40, 1)
    journal.close()
    again = ResponseJournal(path)
    assert len(again) == 2 and again.repair is None
    assert again.get("k2") == Completion("Example 1\n写", "length", 50, 9)
    assert again.get("k3") is None
    first = json.loads(path.read_text(encoding="utf-8").splitlines()[0])
    assert first["step"] == "classify" and first["request"] == 3 and first["candidate"] == 1  # for humans
    again.close()


def test_a_batch_line_is_settled_once_under_its_own_key(tmp_path: Path) -> None:
    """`collected` journals a batch line's reply under the key its `sent` line named, in any later process; it
    never overwrites an answered key nor settles a line twice, and a line sent before lines named their key (or
    by the online client) is not a batch line it can settle."""
    path = tmp_path / "responses.jsonl"
    lines = [
        LineCharge(f"f/{c}", "answer", 10, 64, response_key("answer", "m", "chat", c, PARAMS, 1), 1) for c in "abc"
    ]

    async def first() -> None:
        journal = ResponseJournal(path)
        await journal.sent_many(lines)
        await journal.sent("answer", 10, 64)  # an online attempt: not a batch line
        journal.close()

    asyncio.run(first())
    with path.open("a") as fh:  # written before `sent` lines named their key
        fh.write(json.dumps({"sent": "old/x", "step": "answer", "prompt_tokens": 10, "completion_tokens": 64}) + "\n")

    async def second() -> list[LineCharge | None]:
        journal = ResponseJournal(path)
        try:
            assert journal.open_line("old/x") is None and journal.open_line("f/a") == lines[0]
            await journal.append(lines[1].key, "answer", 1, Completion("asked", "stop", 3, 4, charge="g/b"))
            return [
                await journal.collected("f/a", Completion("reply a", "length", 5, 64)),
                await journal.collected("f/a", Completion("again", "stop", 1, 1)),  # settled already
                await journal.collected("f/b", Completion("reply b", "stop", 5, 6)),  # its key answered by g/b
                await journal.collected("f/c", None),  # failed in its batch, unbilled
            ]
        finally:
            journal.close()

    settled = asyncio.run(second())
    assert settled == [lines[0], None, None, lines[2]]
    journal = ResponseJournal(path)
    try:
        hit = journal.get(lines[0].key)
        assert hit is not None and (hit.text, hit.finish_reason, hit.prompt_tokens) == ("reply a", "length", 5)
        assert journal.get(lines[2].key) is None and journal.open_line("f/b") == lines[1]
        # f/b, old/x and the online attempt keep their reservations
        assert {"f/b", "old/x"} <= set(journal.unanswered) and len(journal.unanswered) == 3
    finally:
        journal.close()


def test_torn_last_line_is_cut_and_other_bad_lines_are_skipped(tmp_path: Path) -> None:
    path = tmp_path / "responses.jsonl"
    good = {"key": "k1", "step": "s", "text": "t", "finish_reason": "stop", "prompt_tokens": 1, "completion_tokens": 1}
    foreign = ["{not json", json.dumps({"key": "k2", "text": 3}), "[1]"]
    lines = [json.dumps(good), *foreign, json.dumps(good | {"key": "k3"})]
    intact = "".join(line + "\n" for line in lines)
    path.write_bytes(intact.encode() + b'{"key": "k4", "te')
    journal = ResponseJournal(path)
    assert journal.repair is not None and journal.repair.line == 6 and journal.repair.action == "truncated"
    assert path.read_bytes() == intact.encode()
    assert len(journal) == 2 and journal.skipped == 3
    assert journal.get("k3") is not None and journal.get("k4") is None
    with pytest.raises(PoolError, match="another selfinstruct process"):
        ResponseJournal(path)
    journal.close()


@pytest.fixture
def server(fake_openai: StartServer) -> Iterator[FakeOpenAIServer]:
    with fake_openai(lambda r: Reply(text=f"answer to {r.prompt}"), api_key=KEY) as srv:
        yield srv


def test_a_replayed_response_never_reaches_the_endpoint(tmp_path: Path, server: FakeOpenAIServer) -> None:
    async def ask(prompts: list[str]) -> tuple[list[str], JournaledClient]:
        journal = ResponseJournal(tmp_path / "responses.jsonl")
        client = JournaledClient(LLMClient(EndpointSettings(server.url, KEY, "fake-model")), journal)
        try:
            answers = [(await client.complete("classify", p, PARAMS, seed=1)).text for p in prompts]
        finally:
            await client.aclose()
            journal.close()
        return answers, client

    first, client = asyncio.run(ask(["one", "two"]))
    assert first == ["answer to one", "answer to two"] and len(server.requests) == 2
    assert client.usage.total().requests == 2 and client.replayed.total().requests == 0
    again, client = asyncio.run(ask(["two", "three", "one"]))
    assert again == ["answer to two", "answer to three", "answer to one"]
    assert [r.prompt for r in server.requests] == ["one", "two", "three"]  # paid once each
    assert client.usage.total().requests == 1 and client.replayed.total().requests == 2
    assert client.replayed.total().total_tokens == server_tokens("two") + server_tokens("one")


def server_tokens(prompt: str) -> int:
    return len(prompt.split()) + len(f"answer to {prompt}".split())


class Meter:
    """The scripted model, counting the tokens the server spends (requests cut off by a kill included)."""

    def __init__(self, model: Responder) -> None:
        self.model = model
        self.tokens = 0
        self.requests = 0
        self.largest = 0  # the most tokens one request cost, over the meter's life
        self._lock = threading.Lock()

    def __call__(self, request: Request) -> Reply | str:
        reply = self.model(request)
        text = reply if isinstance(reply, str) else reply.text
        tokens = len(request.prompt.split()) + len(text.split())
        with self._lock:
            self.tokens += tokens
            self.requests += 1
            self.largest = max(self.largest, tokens)
        return reply

    def take(self) -> int:
        """The tokens served since the last take (the request count restarts too)."""
        with self._lock:
            spent, self.tokens, self.requests = self.tokens, 0, 0
        return spent


def _responses(path: Path) -> list[dict[str, Any]]:
    """The journal's response lines (a kill may leave a last line half written: it is not a response)."""
    if not path.exists():
        return []
    lines = []
    for raw in path.read_bytes().splitlines():
        try:
            record = json.loads(raw)
        except ValueError:
            continue
        if isinstance(record, dict) and "text" in record:
            lines.append(record)
    return lines


@pytest.fixture
def _cli(seeds: Path) -> Callable[..., list[str]]:
    def _cli(out: Path, url: str, n: int) -> list[str]:
        return [sys.executable, "-m", "selfinstruct", "generate", "--seeds", str(seeds), "--out", str(out),
                "--base-url", url, "--model", "fake-model", "--seed", "7", "-n", str(n), "-q",
                "--concurrency", "4"]  # fmt: skip

    return _cli


def _lines(path: Path) -> int:
    return path.read_bytes().count(b"\n") if path.exists() else 0


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT], ids=["kill-9", "ctrl-c"])
def test_interrupted_run_resumes_without_paying_again(
    tmp_path: Path, sig: signal.Signals, fake_openai: StartServer, _cli: Callable[..., list[str]], scripted: Responder
) -> None:
    """Interrupted at about 1/6 of the target, then resumed: the same pool; of what the server served before the
    interruption, only what was in flight (at most --concurrency requests) is lost, and the journaled part plus
    the resumed run cost at most --concurrency requests more than a run that was never interrupted (how far past
    the last needed request a run has asked when the target is reached depends on timing, in either run)."""
    n, concurrency = 36, 4
    env = {**os.environ, "OPENAI_API_KEY": KEY}
    env.pop("OPENAI_BASE_URL", None)
    meter = Meter(scripted)
    with fake_openai(meter, api_key=KEY, latency=0.02) as srv:
        reference = tmp_path / "reference"
        subprocess.run(_cli(reference, srv.url, n), env=env, check=True, timeout=300, capture_output=True)
        uninterrupted = meter.take()
        out = tmp_path / "interrupted"
        proc = subprocess.Popen(_cli(out, srv.url, n), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 120
        while _lines(out / "tasks.jsonl") < n // 6 and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.005)
        proc.send_signal(sig)
        proc.wait(timeout=60)
        assert _lines(out / "tasks.jsonl") < n, "the run finished before it could be interrupted"
        served_requests = meter.requests
        served = meter.take()
        lines = _responses(out / "responses.jsonl")
        journaled = len(lines)
        assert journaled > 0
        kept = sum(line["prompt_tokens"] + line["completion_tokens"] for line in lines)
        assert 0 <= served_requests - journaled <= concurrency, (served_requests, journaled)  # lost: in flight
        assert kept <= served
        subprocess.run(_cli(out, srv.url, n), env=env, check=True, timeout=300, capture_output=True)
        resumed = meter.take()
    assert (out / "tasks.jsonl").read_bytes() == (reference / "tasks.jsonl").read_bytes()
    assert kept + resumed <= uninterrupted + concurrency * meter.largest, (kept, resumed, served, uninterrupted)
    replayed = json.loads((out / "run.json").read_text(encoding="utf-8"))["replayed"]
    # How many journaled responses were still uncommitted at the interruption depends on timing (the engine asks
    # only for what can still matter, so often none is); those there were are replayed, never paid again.
    assert sum(step["requests"] for step in replayed.values()) <= journaled
