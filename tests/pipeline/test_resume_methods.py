"""A resume compares the steps of the run's own method: registering another method (each new one brings steps
of its own) never makes an existing run directory un-resumable, and run.json files that recorded every
registered method's steps (as generate wrote them before) still resume."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from selfinstruct.engine.types import Api, StepParams
from selfinstruct.methods.registry import METHODS
from tests.servers import FakeOpenAIServer

ALPACA = METHODS["alpaca"]
Run = Callable[..., tuple[int, str, str]]


class _Registered:
    """A method registered after the run directory was written, as the next issue's will be: Alpaca's, under
    another name and with a step of its own."""

    name = "extra"
    generating_step = "extra"

    def __getattr__(self, attr: str) -> Any:
        return getattr(ALPACA, attr)

    def default_params(self, api: Api, *, local: bool) -> dict[str, StepParams]:
        return {"extra": ALPACA.default_params(api, local=local)["alpaca"]}


def _mode(method: str) -> list[str]:
    return ["--mode", method] if method != "self-instruct" else []


def _settings(out: Path) -> dict[str, Any]:
    settings: dict[str, Any] = json.loads((out / "run.json").read_text(encoding="utf-8"))["settings"]
    return settings


@pytest.mark.parametrize("method", ["self-instruct", "alpaca"])
def test_a_run_resumes_after_another_method_is_registered(
    tmp_path: Path, server: FakeOpenAIServer, run: Run, method: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "run"
    code, _, stderr = run(server, out, "-n", "3", *_mode(method))
    assert code == 0, stderr
    monkeypatch.setitem(METHODS, "extra", _Registered())
    code, _, stderr = run(server, out, "-n", "6", *_mode(method))
    assert code == 0, stderr
    assert len((out / "tasks.jsonl").read_text(encoding="utf-8").splitlines()) == 6
    assert set(_settings(out)["params"]) == set(METHODS[method].default_params("chat", local=False))


@pytest.mark.parametrize("method", ["self-instruct", "alpaca"])
def test_a_run_json_with_every_method_s_steps_resumes(
    tmp_path: Path, server: FakeOpenAIServer, run: Run, method: str
) -> None:
    """run.json as generate wrote it before: the params of every registered method's steps, in step order."""
    out = tmp_path / "run"
    code, _, stderr = run(server, out, "-n", "3", *_mode(method))
    assert code == 0, stderr
    record = json.loads((out / "run.json").read_text(encoding="utf-8"))
    # (the methods registered then; to_dict is the shape run.json held them in)
    every = {
        s: p for m in ("self-instruct", "alpaca") for s, p in METHODS[m].default_params("chat", local=False).items()
    }
    written = {s: p.to_dict() for s, p in every.items()} | record["settings"]["params"]
    record["settings"]["params"] = dict(sorted(written.items()))
    assert set(record["settings"]["params"]) == {"instructions", "classify", "instances", "alpaca"}
    (out / "run.json").write_text(json.dumps(record, indent=2), encoding="utf-8")
    code, _, stderr = run(server, out, "-n", "6", *_mode(method))
    assert code == 0, stderr
    assert len((out / "tasks.jsonl").read_text(encoding="utf-8").splitlines()) == 6


@pytest.mark.parametrize(("method", "step"), [("self-instruct", "instances"), ("alpaca", "alpaca")])
def test_a_changed_parameter_of_the_run_s_own_method_is_still_refused(
    tmp_path: Path, server: FakeOpenAIServer, run: Run, method: str, step: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "run"
    code, _, stderr = run(server, out, "-n", "3", *_mode(method))
    assert code == 0, stderr
    before = (out / "tasks.jsonl").read_bytes(), (out / "run.json").read_bytes()
    monkeypatch.setitem(METHODS, "extra", _Registered())
    code, _, stderr = run(server, out, "-n", "6", *_mode(method), "--temperature", f"{step}=0.3")
    assert code == 2 and len(stderr.strip().splitlines()) == 1, stderr
    assert f"was generated with params.{step}.temperature=" in stderr and ", not 0.3" in stderr
    assert ((out / "tasks.jsonl").read_bytes(), (out / "run.json").read_bytes()) == before


def test_a_step_of_another_method_is_refused_with_this_method_s_steps(
    tmp_path: Path, server: FakeOpenAIServer, run: Run
) -> None:
    """Before, `--temperature alpaca=0.5` on a Self-Instruct run was accepted and changed nothing it sent."""
    code, _, stderr = run(server, tmp_path / "run", "-n", "3", "--temperature", "alpaca=0.5")
    assert code == 2 and stderr.strip().splitlines() == [
        "Error: --temperature alpaca=0.5: unknown step 'alpaca'; use one of instructions, classify, instances"
    ], stderr
    assert not (tmp_path / "run").exists()
