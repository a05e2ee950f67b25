"""A model and endpoint per step (issue 23): `generate --step-model/--step-base-url/--step-api-key-env` and
`--model-price`, against two scripted fake servers counted apart, over real HTTP with the official SDK."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.servers import FakeOpenAIServer, StartServer

Run = Callable[..., tuple[int, str, str]]
STRONG_KEY = "sk-strong-SECRET-9876543210"
MAIN = "sk-test-SECRET-0123456789"  # the `server` fixture's key


@pytest.fixture
def strong(scripted_server: StartServer) -> FakeOpenAIServer:
    """A second endpoint, with a key of its own and its own model."""
    return scripted_server(api_key=STRONG_KEY, models=["strong-model"])


def _routed(strong: FakeOpenAIServer) -> list[str]:
    """Instances on the second server (its key from STRONG_KEY), classification by another model on the main one."""
    return ["--step-base-url", f"instances={strong.url}", "--step-model", "instances=strong-model",
            "--step-api-key-env", "instances=STRONG_KEY", "--step-model", "classify=mid-model"]  # fmt: skip


def _run_json(out: Path) -> dict[str, object]:
    record: dict[str, object] = json.loads((out / "run.json").read_text(encoding="utf-8"))
    return record


def _models(server: FakeOpenAIServer) -> Counter[str]:
    return Counter(str(r.body["model"]) for r in server.requests)


def test_each_step_reaches_only_its_own_endpoint_and_model(
    tmp_path: Path, server: FakeOpenAIServer, strong: FakeOpenAIServer, run: Run
) -> None:
    out = tmp_path / "run"
    code, _, stderr = run(server, out, "-n", "8", *_routed(strong), env={"STRONG_KEY": STRONG_KEY})
    assert code == 0, stderr
    usage = _run_json(out)["usage"]
    assert isinstance(usage, dict)
    # Counted at each server: the main one saw the instruction and classify steps, each with its model, and only
    # them; the second one only the instances step, with its own model and key.
    assert _models(server) == {
        "fake-model": usage["instructions"]["requests"],
        "mid-model": usage["classify"]["requests"],
    }
    assert _models(strong) == {"strong-model": usage["instances"]["requests"]}
    assert usage["instances"]["requests"] > 0 and usage["classify"]["requests"] > 0
    assert {r.headers["authorization"] for r in strong.requests} == {f"Bearer {STRONG_KEY}"}
    assert {r.headers["authorization"] for r in server.requests} == {f"Bearer {MAIN}"}
    record = _run_json(out)
    assert record["settings"]["step_models"] == {  # type: ignore[index]
        "instructions": "fake-model", "classify": "mid-model", "instances": "strong-model"
    }  # fmt: skip
    steps = record["endpoint"]["steps"]  # type: ignore[index]
    assert steps["instances"] == {"model": "strong-model", "base_url": strong.url, "api_key": "env:STRONG_KEY"}
    assert steps["classify"] == {"model": "mid-model", "base_url": server.url, "api_key": "main"}
    for path in out.iterdir():  # the keys are nowhere on disk, only the variable's name
        text = path.read_text(encoding="utf-8")
        assert STRONG_KEY not in text and MAIN not in text, path


def test_another_url_without_a_key_variable_sends_the_keyless_placeholder(
    tmp_path: Path, server: FakeOpenAIServer, scripted_server: StartServer, run: Run
) -> None:
    """A local server (vLLM, llama.cpp) wants no key: the main key is never sent to another URL."""
    local = scripted_server(models=["served-model"])
    code, _, stderr = run(server, tmp_path / "run", "-n", "3", "--step-base-url", f"instances={local.url}")
    assert code == 0, stderr
    assert local.requests and {r.headers["authorization"] for r in local.requests} == {"Bearer no-key"}
    assert _models(local).keys() == {"served-model"}  # no --step-model: the first model it lists
    assert _run_json(tmp_path / "run")["endpoint"]["steps"]["instances"]["api_key"] == "none"  # type: ignore[index]


def test_pool_is_byte_identical_at_concurrency_1_and_8_with_two_endpoints(
    tmp_path: Path, server: FakeOpenAIServer, strong: FakeOpenAIServer, run: Run
) -> None:
    env = {"STRONG_KEY": STRONG_KEY}
    pools = []
    for concurrency in ("1", "8"):
        out = tmp_path / f"c{concurrency}"
        code, _, stderr = run(server, out, "-n", "20", "--concurrency", concurrency, *_routed(strong), env=env)
        assert code == 0, stderr
        pools.append((out / "tasks.jsonl").read_bytes())
    assert pools[0] == pools[1] and len(pools[0].splitlines()) == 20


def test_a_resume_with_another_model_for_a_step_is_refused(
    tmp_path: Path, server: FakeOpenAIServer, strong: FakeOpenAIServer, run: Run
) -> None:
    out = tmp_path / "run"
    env = {"STRONG_KEY": STRONG_KEY}
    code, _, stderr = run(server, out, "-n", "3", *_routed(strong), env=env)
    assert code == 0, stderr
    pool = (out / "tasks.jsonl").read_bytes()
    elsewhere = ["--step-base-url", f"instances={strong.url}", "--step-api-key-env", "instances=STRONG_KEY"]
    for args in ([*elsewhere, "--step-model", "instances=other-model"], []):  # another model, or the main one
        code, _, stderr = run(server, out, "-n", "6", *args, "--step-model", "classify=mid-model", env=env)
        assert code == 2 and "step_models.instances" in stderr and len(stderr.strip().splitlines()) == 1, stderr
        assert (out / "tasks.jsonl").read_bytes() == pool


def _cost(out: Path, prices: dict[str, tuple[float, float]]) -> float:
    usage = _run_json(out)["usage"]
    assert isinstance(usage, dict)
    return sum((u["prompt_tokens"] * prices[s][0] + u["completion_tokens"] * prices[s][1]) / 1e6
               for s, u in usage.items())  # fmt: skip


def test_per_model_prices_hold_max_cost_also_after_a_resume(
    tmp_path: Path, server: FakeOpenAIServer, strong: FakeOpenAIServer, run: Run
) -> None:
    """Instances cost 50 times the main model: --max-cost counts each step at its model's prices (the main prices
    alone would let the run spend about twice the cap)."""
    out = tmp_path / "run"
    env = {"STRONG_KEY": STRONG_KEY}
    prices = {"instructions": (0.2, 0.8), "classify": (1.0, 4.0), "instances": (10.0, 40.0)}
    priced = ["--price-input", "0.2", "--price-output", "0.8", "--model-price", "strong-model=10,40",
              "--model-price", "mid-model=1,4", "--max-tokens", "instances=300", *_routed(strong)]  # fmt: skip
    code, stdout, stderr = run(server, out, "-n", "500", "--max-cost", "0.1", *priced, "--concurrency", "8", env=env)
    assert code == 3 and "cost budget of $0.1000" in stdout, stderr
    assert 0.08 <= _cost(out, prices) <= 0.1  # (a reservation of the instances step is up to $0.015)
    code, stdout, _ = run(server, out, "-n", "500", "--max-cost", "0.1", *priced, env=env)
    assert code == 3 and _cost(out, prices) <= 0.1  # the journal's spend, each step at its model's prices
    code, stdout, _ = run(server, out, "-n", "500", "--max-cost", "0.15", *priced, env=env)
    assert code == 3 and 0.13 < _cost(out, prices) <= 0.15
    sent = Counter(str(r.body["model"]) for r in [*server.requests, *strong.requests])
    usage = _run_json(out)["usage"]
    assert sent["strong-model"] == usage["instances"]["requests"]  # type: ignore[index]
    assert f"${_cost(out, prices):.4f}" in stdout  # the summary prices each step at its model's prices


@pytest.fixture
def _cli(seeds: Path) -> Callable[..., list[str]]:
    def _cli(out: Path, main: str, other: str, concurrency: int) -> list[str]:
        return [sys.executable, "-m", "selfinstruct", "generate", "--seeds", str(seeds), "--out", str(out),
                "--base-url", main, "--model", "fake-model", "--seed", "7", "-n", "30", "-q",
                "--concurrency", str(concurrency), "--step-base-url", f"instances={other}",
                "--step-model", "instances=strong-model", "--step-api-key-env", "instances=STRONG_KEY"]  # fmt: skip

    return _cli


def _keys(out: Path) -> list[str]:
    lines = (out / "responses.jsonl").read_text(encoding="utf-8").splitlines()
    return [record["key"] for record in map(json.loads, lines) if "key" in record]


@pytest.mark.parametrize("kill_after", [0.5, 1.2])
def test_kill_9_then_resume_repays_nothing_and_is_byte_identical(
    tmp_path: Path, kill_after: float, scripted_server: StartServer, _cli: Callable[..., list[str]]
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "SELFINSTRUCT_"))}
    env |= {"OPENAI_API_KEY": MAIN, "STRONG_KEY": STRONG_KEY}
    with (
        scripted_server(api_key=MAIN, latency=0.02) as main,
        scripted_server(api_key=STRONG_KEY, latency=0.02) as other,
    ):
        reference = tmp_path / "reference"
        subprocess.run(_cli(reference, main.url, other.url, 4), env=env, check=True, timeout=180)
        out = tmp_path / "killed"
        proc = subprocess.Popen(_cli(out, main.url, other.url, 4), env=env)
        time.sleep(kill_after)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        before = (len(main.requests), len(other.requests))
        journaled = set(_keys(out)) if (out / "responses.jsonl").exists() else set()
        subprocess.run(_cli(out, main.url, other.url, 8), env=env, check=True, timeout=180)
        assert len(main.requests) + len(other.requests) > sum(before)  # (the kill left work to do)
        assert {str(r.body["model"]) for r in other.requests} == {"strong-model"}
    assert (out / "tasks.jsonl").read_bytes() == (reference / "tasks.jsonl").read_bytes()
    keys = _keys(out)
    assert len(keys) == len(set(keys))  # no question answered twice: nothing journaled was paid for again
    assert journaled <= set(keys)


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (["--step-model", "answer=big"], {}, "--step-model answer=big: unknown step 'answer'; use one of"),
        (["--step-model", "instances="], {}, "--step-model instances=: give a MODEL after '='"),
        (["--step-model", "big"], {}, "--step-model big: give STEP=MODEL, STEP one of instructions, classify"),
        (["--step-base-url", "instances=localhost:8000"], {}, "of instances: localhost:8000: not an http(s) URL"),
        (["--step-api-key-env", "instances=NOPE_KEY"], {}, "the environment variable NOPE_KEY is not set"),
        (["--step-model", "classify=a", "--step-model", "classify=b"], {}, "step classify given twice"),
        (["--model-price", "big=1"], {}, "--model-price big=1: give MODEL=INPUT,OUTPUT"),
        (["--model-price", "big=1,-2"], {}, "--model-price big=1,-2: give MODEL=INPUT,OUTPUT"),
        (["--step-model", "instances=big", "--max-cost", "1", "--price-input", "1", "--price-output", "2"], {},
         "--max-cost needs the price of every step's model: give --model-price big=IN,OUT"),
        (["--step-base-url", "instances=http://localhost:9/v1", "--max-cost", "1", "--price-input", "1",
          "--price-output", "2"], {}, "the instances step's model is not known before the run"),
    ],
)  # fmt: skip
def test_bad_step_options_exit_2_with_one_line_and_write_nothing(
    tmp_path: Path, server: FakeOpenAIServer, run: Run, args: list[str], env: dict[str, str], message: str
) -> None:
    out = tmp_path / "run"
    code, _, stderr = run(server, out, "-n", "3", *args, env=env)
    assert code == 2 and message in stderr, stderr
    assert len(stderr.strip().splitlines()) == 1
    assert not out.exists() and not server.requests


def test_the_embedded_model_takes_a_step_model_only_with_its_own_server(
    tmp_path: Path, seeds: Path, generate_env: dict[str, str | None]
) -> None:
    from click.testing import CliRunner

    from selfinstruct.cli.app import cli

    out = tmp_path / "run"
    argv = ["generate", "--seeds", str(seeds), "--out", str(out), "-n", "3", "--step-model", "instances=big"]
    result = CliRunner().invoke(cli, argv, env=generate_env)
    assert result.exit_code == 2 and "give the step a server with --step-base-url instances=URL" in result.stderr
    assert not out.exists()


def test_dry_run_shows_each_step_s_model_endpoint_and_cost(
    tmp_path: Path, server: FakeOpenAIServer, strong: FakeOpenAIServer, run: Run
) -> None:
    priced = ["--price-input", "0.2", "--price-output", "0.8", "--model-price", "strong-model=10,40"]
    routed = ["--step-base-url", f"instances={strong.url}", "--step-model", "instances=strong-model"]
    code, stdout, stderr = run(server, tmp_path / "run", "-n", "100", "--dry-run", *priced, *routed)
    assert code == 0, stderr
    rows = {line.split()[0]: line.split() for line in stdout.splitlines() if line.startswith("  ") and "$" in line}
    assert rows["instances"][1] == "strong-model" and rows["instances"][3] == strong.url
    assert rows["classify"][1] == "fake-model" and rows["classify"][3] == server.url
    counts = next(line.split() for line in stdout.splitlines() if line.startswith("  instances ") and "$" not in line)
    prompt, completion = (int(x.replace(",", "")) for x in counts[2:4])  # (requests, prompt, completion tokens)
    assert rows["instances"][2] == f"${(prompt * 10 + completion * 40) / 1e6:.4f}"
    total = sum(float(r[2].lstrip("$")) for r in rows.values() if r[0] in ("instructions", "classify", "instances"))
    cost = next(line for line in stdout.splitlines() if line.startswith("  cost:"))
    assert "each step at its model's prices" in cost and abs(float(cost.split("$")[1].split()[0]) - total) < 2e-4
    assert not server.requests and not strong.requests


def test_a_reasoning_model_gets_room_for_its_thinking_in_the_steps_it_runs(tmp_path: Path) -> None:
    from selfinstruct.engine.reasoning import REASONING_ROOM
    from selfinstruct.pipeline.settings import GenerateOptions, resolve_generate_settings

    def max_tokens(**options: object) -> dict[str, int]:
        o = GenerateOptions(out=tmp_path / "run", api_key="sk-x", **options)  # type: ignore[arg-type]
        return {step: p.max_tokens for step, p in resolve_generate_settings(o).params.items()}

    plain = max_tokens(model="gpt-4o-mini")
    routed = max_tokens(model="gpt-4o-mini", step_model=("instances=o3-mini",))
    assert routed == plain | {"instances": plain["instances"] + REASONING_ROOM}
    away = max_tokens(model="o3-mini", step_model=("classify=gpt-4o-mini",))
    assert away == {step: n + (REASONING_ROOM if step != "classify" else 0) for step, n in plain.items()}


def test_a_step_url_s_credentials_are_never_shown(tmp_path: Path, server: FakeOpenAIServer, run: Run) -> None:
    """The dry run (and run.json, through the same EndpointSettings.where) shows a step's URL without its key."""
    url = "http://127.0.0.1:9/v1?api-key=sk-query-SECRET-42"
    args = ["--step-base-url", f"instances={url}", "--step-model", "instances=big"]
    code, stdout, stderr = run(server, tmp_path / "plan", "-n", "3", "--dry-run", *args)
    assert code == 0 and "http://127.0.0.1:9/v1?api-key=[redacted]" in stdout, stderr
    assert "SECRET" not in stdout + stderr and not (tmp_path / "plan").exists()


def test_model_price_of_the_main_model_stands_in_for_price_input_and_output(tmp_path: Path) -> None:
    from selfinstruct.engine.types import Prices
    from selfinstruct.pipeline.settings import GenerateOptions, resolve_generate_settings

    def resolved(**options: object) -> tuple[Prices | None, Prices | None]:
        o = GenerateOptions(out=tmp_path / "run", api_key="sk-x", model="gpt-4o-mini", **options)  # type: ignore[arg-type]
        s = resolve_generate_settings(o)
        return s.prices, s.pricing.of("instances")

    assert resolved(max_cost=1.0, model_price=("gpt-4o-mini=0.15,0.6",)) == (Prices(0.15, 0.6), Prices(0.15, 0.6))
    both = resolved(model_price=("gpt-4o-mini=0.15,0.6", "gpt-4o=2.5,10"), step_model=("instances=gpt-4o",))
    assert both == (Prices(0.15, 0.6), Prices(2.5, 10.0))
    batch = resolved(batch=True, model_price=("gpt-4o-mini=0.2,0.8",))  # --batch's discount on every model's prices
    assert batch == (Prices(0.1, 0.4), Prices(0.1, 0.4))
