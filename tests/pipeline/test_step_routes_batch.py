"""`generate --batch` with a model and endpoint per step (issue 23): each endpoint and model gets its own batches
(a batch file names one model and one endpoint, at OpenAI and at the fake), all in one budget, one journal and
one batches.jsonl; two scripted fake Batch servers counted apart, over real HTTP with the official SDK."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.servers import FakeBatches, FakeOpenAIServer, StartServer, kill_at_rest, recorded_batches, uploaded

Run = Callable[..., tuple[int, str, str]]
MAIN = "sk-test-SECRET-0123456789"  # the `run` fixture sends the server's own key
STRONG_KEY = "sk-strong-SECRET-9876543210"
POLL = {"SELFINSTRUCT_BATCH_POLL": "0.02", "STRONG_KEY": STRONG_KEY}
DONE = ("completed", "failed", "expired", "cancelled")


@dataclass
class Side:
    """One endpoint: its server and its Batch API."""

    server: FakeOpenAIServer
    batches: FakeBatches

    def made(self) -> list[str]:
        """The model each of its batches' lines named, one entry per batch (a set of one, or the fake failed it)."""
        models = []
        for batch in list(self.batches.batches.values()):
            content = self.batches.files[batch.input_file_id][1].decode()
            models.append(sorted({json.loads(line)["body"]["model"] for line in content.splitlines()}))
        return [m[0] if len(m) == 1 else "mixed" for m in models]

    def running(self) -> bool:
        with self.batches._lock:
            return any(self.batches._status(b) not in DONE for b in self.batches.batches.values())


@pytest.fixture
def pair(fake_batches: Callable[..., FakeBatches], scripted_server: StartServer) -> Iterator[tuple[Side, Side]]:
    """The main endpoint (fake-model, and mid-model for classify) and a second one with its own key and model."""
    sides = []
    for key, models in ((MAIN, ["fake-model"]), (STRONG_KEY, ["strong-model"])):
        batches = fake_batches(step_seconds=0.3)  # each batch in flight for about a second
        sides.append(Side(scripted_server(api_key=key, models=models, routes=batches), batches))
    yield sides[0], sides[1]


def _routed(strong: FakeOpenAIServer) -> list[str]:
    return _routed_url(strong.url)


def _routed_url(url: str) -> list[str]:
    """Classification on the second server (its key from STRONG_KEY), instances by another model on the main one
    (the instructions of the next requests and the classification of the last ones' are in flight together)."""
    return ["--step-base-url", f"classify={url}", "--step-model", "classify=strong-model",
            "--step-api-key-env", "classify=STRONG_KEY", "--step-model", "instances=mid-model"]  # fmt: skip


def _ledger(out: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in (out / "batches.jsonl").read_text(encoding="utf-8").splitlines()]


def _keys(out: Path) -> list[str]:
    lines = (out / "responses.jsonl").read_text(encoding="utf-8").splitlines()
    return [record["key"] for record in map(json.loads, lines) if "key" in record]


def test_each_endpoint_and_model_gets_its_own_batches_and_the_pool_is_the_synchronous_one(
    tmp_path: Path, pair: tuple[Side, Side], run: Run
) -> None:
    main, strong = pair
    code, _, stderr = run(main.server, tmp_path / "sync", "-n", "15", *_routed(strong.server), env=POLL)
    assert code == 0, stderr
    main.server.reset()
    strong.server.reset()
    out = tmp_path / "batch"
    code, _, stderr = run(main.server, out, "-n", "15", "--batch", *_routed(strong.server), env=POLL)
    assert code == 0, stderr
    for name in ("tasks.jsonl", "rejected.jsonl"):
        assert (out / name).read_bytes() == (tmp_path / "sync" / name).read_bytes(), name
    # Every line went through a batch at its own step's endpoint, each batch file one model: the main server saw
    # the instructions (fake-model) and instances (mid-model) steps, the second one only classify.
    assert all(r.outcome == "batch" for r in [*main.server.requests, *strong.server.requests])
    usage = json.loads((out / "run.json").read_text(encoding="utf-8"))["usage"]
    assert Counter(str(r.body["model"]) for r in main.server.requests) == {
        "fake-model": usage["instructions"]["requests"], "mid-model": usage["instances"]["requests"]
    }  # fmt: skip
    assert Counter(str(r.body["model"]) for r in strong.server.requests) == {
        "strong-model": usage["classify"]["requests"]
    }
    assert set(main.made()) == {"fake-model", "mid-model"} and set(strong.made()) == {"strong-model"}
    assert all(b.ending == "completed" for side in pair for b in side.batches.batches.values())
    assert {*main.batches.submissions.values(), *strong.batches.submissions.values()} == {1}
    record = json.loads((out / "run.json").read_text(encoding="utf-8"))
    assert sorted(record["batches"]) == sorted([*main.batches.created, *strong.batches.created])
    # Each file line names its endpoint as run.json names a step's: URL, model, where the key came from.
    endpoints = {json.dumps(r["endpoint"], sort_keys=True) for r in _ledger(out) if "custom_ids" in r}
    assert {json.loads(e)["model"]: json.loads(e) for e in endpoints} == {
        "fake-model": {"base_url": main.server.url, "model": "fake-model", "api_key": "main"},
        "mid-model": {"base_url": main.server.url, "model": "mid-model", "api_key": "main"},
        "strong-model": {"base_url": strong.server.url, "model": "strong-model", "api_key": "env:STRONG_KEY"},
    }
    for path in out.iterdir():  # the keys are nowhere on disk
        text = path.read_text(encoding="utf-8")
        assert STRONG_KEY not in text and MAIN not in text, path


def test_magpie_queries_and_answers_in_batches_at_their_own_endpoints(
    tmp_path: Path, pair: tuple[Side, Side], generate_env: dict[str, str | None]
) -> None:
    """Magpie's queries (completions, the main model) and its answers (chat, another model on the second server):
    each endpoint's batches hold its own step's lines, over its own API; the pool is the synchronous run's."""
    from click.testing import CliRunner

    from selfinstruct.cli.app import cli

    main, strong = pair

    def magpie(out: Path, *extra: str) -> tuple[int, str]:
        argv = ["generate", "--method", "magpie", "--api", "completions", "--model", "Qwen2.5-7B-Instruct",
                "--out", str(out), "--base-url", main.server.url, "--seed", "7", "-n", "12", "-q",
                "--step-base-url", f"answer={strong.server.url}", "--step-model", "answer=strong-model",
                "--step-api-key-env", "answer=STRONG_KEY", *extra]  # fmt: skip
        result = CliRunner().invoke(cli, argv, env={**generate_env, "OPENAI_API_KEY": MAIN, **POLL})
        return result.exit_code, result.stderr

    code, stderr = magpie(tmp_path / "sync")
    assert code == 0, stderr
    main.server.reset()
    strong.server.reset()
    code, stderr = magpie(tmp_path / "batch", "--batch")
    assert code == 0, stderr
    for name in ("tasks.jsonl", "rejected.jsonl"):
        assert (tmp_path / "batch" / name).read_bytes() == (tmp_path / "sync" / name).read_bytes(), name
    assert {(r.outcome, r.path) for r in main.server.requests} == {("batch", "/v1/completions")}
    assert {(r.outcome, r.path) for r in strong.server.requests} == {("batch", "/v1/chat/completions")}
    assert set(main.made()) == {"Qwen2.5-7B-Instruct"} and set(strong.made()) == {"strong-model"}
    assert all(b.ending == "completed" for side in pair for b in side.batches.batches.values())


@pytest.fixture
def _cli(seeds: Path) -> Callable[..., list[str]]:
    def _cli(out: Path, main: str, other: str, *extra: str) -> list[str]:
        """From the second round on, the instances of one request's candidates (main endpoint) and the
        classification of the next one's (second endpoint) are in flight together."""
        return [sys.executable, "-m", "selfinstruct", "generate", "--seeds", str(seeds), "--out", str(out),
                "--base-url", main, "--model", "fake-model", "--seed", "7", "-n", "40", "-q", *_routed_url(other),
                *extra]  # fmt: skip

    return _cli


def _kill_while_in_flight(cmd: list[str], env: dict[str, str], at: Side, other: Side) -> None:
    """Kill -9 the run while a batch is in flight at `at`, once `other` has made batches too. (The pipeline's
    steps take turns: under --batch the jobs of a round move together, so one endpoint has a batch in flight at a
    time; tests/engine/test_batch_routed.py restarts with batches in flight at both at once.)"""
    ledger = Path(cmd[cmd.index("--out") + 1]) / "batches.jsonl"

    sides = (at, other)

    def ready() -> bool:  # every file either server took has its batch, and every batch is in the run's ledger
        # (a batch made but not yet recorded is one the run cannot know of; a file uploaded without its batch
        # holds lines charged their reservation that only a run asking for them sends: the kill would test those
        # gaps, not the resume)
        made = sum(len(side.batches.batches) for side in sides)
        uploaded_files = uploaded(*(side.batches for side in sides))
        return at.running() and bool(other.batches.created) and recorded_batches(ledger) == made == uploaded_files

    kill_at_rest(subprocess.Popen(cmd, env=env), ready, [side.batches for side in sides], timeout=120)
    assert at.running() and other.batches.created, "the run ended before a batch was in flight there"


@pytest.fixture
def env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "SELFINSTRUCT_"))}
    return env | {"OPENAI_API_KEY": MAIN, **POLL}


def _answered(side: Side) -> Counter[str]:
    """How often each custom_id was answered (billed) in any of the side's batches."""
    out: Counter[str] = Counter()
    for batch in list(side.batches.batches.values()):
        if batch.output_file_id is not None:
            content = side.batches.files[batch.output_file_id][1].decode()
            out.update(json.loads(line)["custom_id"] for line in content.splitlines())
    return out


@pytest.mark.parametrize("where", ["main", "second"])
def test_kill_9_with_a_batch_in_flight_at_either_endpoint_then_resume(
    tmp_path: Path, pair: tuple[Side, Side], _cli: Callable[..., list[str]], env: dict[str, str], where: str
) -> None:
    """The resume waits for the batch at its own endpoint, with that endpoint's key (the main one would answer
    404: no such batch there): byte-identical, nothing submitted, paid or journaled twice."""
    main, strong = pair
    reference = tmp_path / "reference"
    subprocess.run(_cli(reference, main.server.url, strong.server.url), env=env, check=True, timeout=300)
    out = tmp_path / "killed"
    cmd = _cli(out, main.server.url, strong.server.url, "--batch")
    at, other = (main, strong) if where == "main" else (strong, main)
    _kill_while_in_flight(cmd, env, at, other)
    in_flight = [list(main.batches.created), list(strong.batches.created)]
    subprocess.run(cmd, env=env, check=True, timeout=300)
    assert (out / "tasks.jsonl").read_bytes() == (reference / "tasks.jsonl").read_bytes()
    assert (out / "rejected.jsonl").read_bytes() == (reference / "rejected.jsonl").read_bytes()
    for side, before in zip(pair, in_flight, strict=True):
        assert set(side.batches.submissions.values()) == {1}, "a request was submitted twice"
        assert set(_answered(side).values()) == {1}, "a line was paid twice"
        assert side.batches.created[: len(before)] == before  # waited for, not made again
    assert set(main.made()) == {"fake-model", "mid-model"} and set(strong.made()) == {"strong-model"}
    keys = _keys(out)
    assert len(keys) == len(set(keys))  # no question journaled twice


def test_the_sweep_collects_the_paid_lines_at_the_second_endpoint(
    tmp_path: Path, pair: tuple[Side, Side], _cli: Callable[..., list[str]], env: dict[str, str]
) -> None:
    """Killed with a batch in flight at the second endpoint, finished a day later, resumed with a cap that allows
    no request: its lines are collected there (polled at the main endpoint, the batch does not exist), journaled
    and charged what the server served; the full run after it answers them from the journal."""
    main, strong = pair
    reference = tmp_path / "reference"
    subprocess.run(_cli(reference, main.server.url, strong.server.url), env=env, check=True, timeout=300)
    for side in pair:
        side.server.reset()
    out = tmp_path / "killed"
    _kill_while_in_flight(_cli(out, main.server.url, strong.server.url, "--batch"), env, strong, main)
    for side in pair:
        side.batches.finish(side.server)
    served = main.server.served_tokens + strong.server.served_tokens
    capped = subprocess.run(_cli(out, main.server.url, strong.server.url, "--batch", "--max-tokens-total", "1"),
                            env=env, timeout=300, capture_output=True, text=True)  # fmt: skip
    assert capped.returncode == 3, capped.stderr
    assert "collected" in capped.stderr and "no request of this run took" in capped.stderr
    usage = json.loads((out / "run.json").read_text(encoding="utf-8"))["usage"]
    assert sum(s["prompt_tokens"] + s["completion_tokens"] for s in usage.values()) == served
    assert sum(s["unanswered"] for s in usage.values()) == 0 and usage["classify"]["requests"] > 0
    subprocess.run(_cli(out, main.server.url, strong.server.url, "--batch"), env=env, check=True, timeout=300)
    assert (out / "tasks.jsonl").read_bytes() == (reference / "tasks.jsonl").read_bytes()
    assert {*main.batches.submissions.values(), *strong.batches.submissions.values()} == {1}
    usage = json.loads((out / "run.json").read_text(encoding="utf-8"))["usage"]
    total = main.server.served_tokens + strong.server.served_tokens
    assert sum(s["prompt_tokens"] + s["completion_tokens"] for s in usage.values()) == total


def _cost(out: Path, prices: dict[str, tuple[float, float]]) -> float:
    usage = json.loads((out / "run.json").read_text(encoding="utf-8"))["usage"]
    return sum((u["prompt_tokens"] * prices[s][0] + u["completion_tokens"] * prices[s][1]) / 1e6
               for s, u in usage.items())  # fmt: skip


def test_max_cost_holds_at_each_model_s_batch_prices(tmp_path: Path, pair: tuple[Side, Side], run: Run) -> None:
    """Classify costs 50 times the main model, every price halved by the batch discount: the cap holds counted at
    each step's model's batch prices (at the main prices alone the run would spend much more than the cap)."""
    main, strong = pair
    half = {"instructions": (0.1, 0.4), "classify": (5.0, 20.0), "instances": (0.5, 2.0)}
    priced = ["--price-input", "0.2", "--price-output", "0.8", "--model-price", "strong-model=10,40",
              "--model-price", "mid-model=1,4", "--max-tokens", "instances=300"]  # fmt: skip
    out = tmp_path / "run"
    args = ["-n", "500", "--batch", "--max-cost", "0.05", *priced, *_routed(strong.server)]
    code, stdout, stderr = run(main.server, out, *args, env=POLL)
    assert code == 3 and "cost budget of $0.0500" in stdout, stderr
    assert 0.03 <= _cost(out, half) <= 0.05
    assert f"${_cost(out, half):.4f}" in stdout  # the summary prices each step at its model's batch prices
    served = Counter(str(r.body["model"]) for r in [*main.server.requests, *strong.server.requests])
    assert served["strong-model"] > 0 and set(strong.made()) == {"strong-model"}


def test_dry_run_prices_each_step_at_its_model_s_batch_prices(
    tmp_path: Path, pair: tuple[Side, Side], run: Run
) -> None:
    main, strong = pair
    priced = ["--price-input", "0.2", "--price-output", "0.8", "--model-price", "strong-model=10,40"]
    routed = ["--step-base-url", f"instances={strong.server.url}", "--step-model", "instances=strong-model"]
    code, stdout, stderr = run(main.server, tmp_path / "run", "-n", "100", "--dry-run", "--batch", *priced, *routed)
    assert code == 0, stderr
    rows = {line.split()[0]: line.split() for line in stdout.splitlines() if line.startswith("  ") and "$" in line}
    counts = {
        line.split()[0]: [int(x.replace(",", "")) for x in line.split()[2:4]]
        for line in stdout.splitlines()
        if line.startswith(("  instances ", "  classify ")) and "$" not in line
    }
    assert rows["instances"][2] == f"${(counts['instances'][0] * 5 + counts['instances'][1] * 20) / 1e6:.4f}"
    assert rows["classify"][2] == f"${(counts['classify'][0] * 0.1 + counts['classify'][1] * 0.4) / 1e6:.4f}"
    assert "Batch API prices" in stdout
    assert not main.server.requests and not strong.server.requests and not (tmp_path / "run").exists()


def test_a_step_on_another_server_under_batch_with_the_embedded_model_is_refused(
    tmp_path: Path, seeds: Path, generate_env: dict[str, str | None], pair: tuple[Side, Side]
) -> None:
    """The embedded model has no Batch API: a step sent to a server does not give the run one."""
    from click.testing import CliRunner

    from selfinstruct.cli.app import cli

    _, strong = pair
    out = tmp_path / "run"
    argv = ["generate", "--seeds", str(seeds), "--out", str(out), "-n", "3", "--batch", "--step-base-url",
            f"instances={strong.server.url}"]  # fmt: skip
    result = CliRunner().invoke(cli, argv, env=generate_env)
    assert result.exit_code == 2 and "--batch needs an endpoint with the Batch API" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not out.exists() and not strong.server.requests
