"""`respond` with an endpoint per model (issues 23/24): `--model-base-url MODEL=URL` and `--model-api-key-env
MODEL=VARNAME`, against two fake servers counted apart; the answers are those of one server serving both."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from selfinstruct.cli.app import cli
from tests.servers import ANSWER_KEY, RESPOND_ENV, FakeOpenAIServer, StartServer, answer_or_judge, make_answer_pool

OTHER_KEY = "sk-other-SECRET-5555"


def _respond(source: Path, out: Path, *args: str, env: dict[str, str | None] | None = None) -> tuple[int, str, str]:
    argv = ["respond", str(source), "--out", str(out), "-q", "--seed", "5", *args]
    result = CliRunner().invoke(cli, argv, env={**RESPOND_ENV, **(env or {})})
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def servers(fake_openai: StartServer) -> tuple[FakeOpenAIServer, FakeOpenAIServer]:
    """ "weak" on the main server (the main key), "strong" on another with a key of its own."""
    return (fake_openai(answer_or_judge, api_key=ANSWER_KEY, models=["weak"]),
            fake_openai(answer_or_judge, api_key=OTHER_KEY, models=["strong"]))  # fmt: skip


def _split(main: FakeOpenAIServer, other: FakeOpenAIServer) -> list[str]:
    return ["--base-url", main.url, "--model", "strong", "--model", "weak", "--model-base-url", f"strong={other.url}",
            "--model-api-key-env", "strong=OTHER_KEY"]  # fmt: skip


def test_each_model_reaches_only_its_endpoint_and_answers_as_on_one_server(
    tmp_path: Path, servers: tuple[FakeOpenAIServer, FakeOpenAIServer], fake_openai: StartServer
) -> None:
    main, other = servers
    make_answer_pool(tmp_path / "run" / "tasks.jsonl", 30)
    out = tmp_path / "split"
    code, _, stderr = _respond(tmp_path / "run", out, *_split(main, other), "--concurrency", "8",
                               env={"OTHER_KEY": OTHER_KEY})  # fmt: skip
    assert code == 0, stderr
    records = [json.loads(line) for line in (out / "answers.jsonl").read_text(encoding="utf-8").splitlines()]
    per_model = {m: sum(r["model"] == m for r in records) for m in ("strong", "weak")}
    assert {str(r.body["model"]) for r in main.requests} == {"weak"} and len(main.requests) == per_model["weak"]
    assert {str(r.body["model"]) for r in other.requests} == {"strong"} and len(other.requests) == per_model["strong"]
    assert {r.headers["authorization"] for r in other.requests} == {f"Bearer {OTHER_KEY}"}
    assert {r.headers["authorization"] for r in main.requests} == {f"Bearer {ANSWER_KEY}"}
    state = json.loads((out / "respond.json").read_text(encoding="utf-8"))
    assert state["model_endpoints"] == {"strong": {"base_url": other.url, "api_key": "env:OTHER_KEY"}}
    assert OTHER_KEY not in (out / "respond.json").read_text() + (out / "responses.jsonl").read_text()
    # The same answers as one server serving both models, at another concurrency too.
    with fake_openai(answer_or_judge, api_key=ANSWER_KEY, models=["strong", "weak"]) as both:
        one = tmp_path / "one"
        models = ["--model", "strong", "--model", "weak"]
        code, _, stderr = _respond(tmp_path / "run", one, "--base-url", both.url, *models, "--concurrency", "1")
    assert code == 0, stderr
    for name in ("answers.jsonl", "tasks.jsonl"):
        assert (out / name).read_bytes() == (one / name).read_bytes()
    asked = len(main.requests) + len(other.requests)
    code, _, _ = _respond(tmp_path / "run", out, *_split(main, other), env={"OTHER_KEY": OTHER_KEY})
    assert code == 0 and len(main.requests) + len(other.requests) == asked  # a rerun replays, pays nothing


def test_every_model_on_its_own_endpoint_needs_no_main_endpoint(
    tmp_path: Path, servers: tuple[FakeOpenAIServer, FakeOpenAIServer]
) -> None:
    """No --base-url and no key: not the embedded model, since every --model names its own server."""
    main, other = servers
    make_answer_pool(tmp_path / "run" / "tasks.jsonl", 5)
    code, _, stderr = _respond(
        tmp_path / "run", tmp_path / "out", "--model", "weak", "--model", "strong",
        "--model-base-url", f"weak={main.url}", "--model-api-key-env", "weak=MAIN_KEY",
        "--model-base-url", f"strong={other.url}", "--model-api-key-env", "strong=OTHER_KEY",
        env={"OPENAI_API_KEY": None, "OTHER_KEY": OTHER_KEY, "MAIN_KEY": ANSWER_KEY},
    )  # fmt: skip
    assert code == 0, stderr
    assert main.requests and other.requests and "embedded" not in stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--model", "weak", "--model-base-url", "strong=http://localhost:9/v1"],
         "--model-base-url strong=http://localhost:9/v1: unknown model 'strong'; use one of weak"),
        (["--model", "weak", "--model-base-url", "weak=localhost:9"], "of weak: localhost:9: not an http(s) URL"),
        (["--model", "weak", "--model-base-url", "weak="], "--model-base-url weak=: give a URL after '='"),
        (["--model", "weak", "--model-api-key-env", "weak=NOT_SET_ANYWHERE"],
         "the environment variable NOT_SET_ANYWHERE is not set"),
    ],
)  # fmt: skip
def test_bad_per_model_options_exit_2_with_one_line(
    tmp_path: Path, servers: tuple[FakeOpenAIServer, FakeOpenAIServer], args: list[str], message: str
) -> None:
    main, _ = servers
    make_answer_pool(tmp_path / "run" / "tasks.jsonl", 3)
    code, _, stderr = _respond(tmp_path / "run", tmp_path / "out", "--base-url", main.url, *args)
    assert code == 2 and message in stderr and len(stderr.strip().splitlines()) == 1, stderr
    assert not (tmp_path / "out").exists() and not main.requests


def test_batch_with_an_endpoint_per_model_gives_the_synchronous_answers(
    tmp_path: Path, fake_openai: StartServer, fake_batches: Any
) -> None:
    """One batching client per model, each on its own endpoint: --batch falls out of the per-model clients."""
    env = {"SELFINSTRUCT_BATCH_POLL": "0.02", "OTHER_KEY": OTHER_KEY}
    with (
        fake_openai(answer_or_judge, api_key=ANSWER_KEY, models=["weak"], routes=fake_batches()) as main,
        fake_openai(answer_or_judge, api_key=OTHER_KEY, models=["strong"], routes=fake_batches()) as other,
    ):
        make_answer_pool(tmp_path / "run" / "tasks.jsonl", 12)
        assert _respond(tmp_path / "run", tmp_path / "sync", *_split(main, other), env=env)[0] == 0
        main.reset()
        other.reset()
        code, _, stderr = _respond(tmp_path / "run", tmp_path / "batch", *_split(main, other), "--batch", env=env)
    assert code == 0, stderr
    assert main.requests and other.requests
    assert all(r.outcome == "batch" for r in [*main.requests, *other.requests])
    assert {str(r.body["model"]) for r in other.requests} == {"strong"}
    for name in ("answers.jsonl", "tasks.jsonl"):
        assert (tmp_path / "batch" / name).read_bytes() == (tmp_path / "sync" / name).read_bytes()


def test_the_dry_run_names_each_model_s_own_endpoint(
    tmp_path: Path, servers: tuple[FakeOpenAIServer, FakeOpenAIServer]
) -> None:
    main, other = servers
    make_answer_pool(tmp_path / "run" / "tasks.jsonl", 3)
    code, stdout, stderr = _respond(tmp_path / "run", tmp_path / "out", *_split(main, other), "--dry-run",
                                    env={"OTHER_KEY": OTHER_KEY})  # fmt: skip
    assert code == 0, stderr
    assert f"strong at {other.url}" in stdout and "weak" in stdout
    assert not main.requests and not other.requests and not (tmp_path / "out").exists()
