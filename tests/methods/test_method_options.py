"""A method's own options (`Method.options`): declared once in the method, they become a `generate` flag, are
checked, refused for other methods and recorded in run.json, without cli/ or pipeline/ naming them. A toy
method, registered by a fixture for these tests only, proves the extension point."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import selfinstruct
from selfinstruct.cli.app import cli
from selfinstruct.engine.options import Bound
from selfinstruct.errors import InputError
from selfinstruct.methods.base import MethodSettings
from selfinstruct.methods.options import MethodOption
from selfinstruct.methods.registry import METHODS
from selfinstruct.methods.self_instruct.method import SelfInstruct
from tests.servers import FakeOpenAIServer, StartServer

KEY = "sk-test-toy"
CLEAN_ENV = {k: None for k in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "SELFINSTRUCT_MODEL", "SELFINSTRUCT_LANGUAGE")}
SPICE = MethodOption[int]("spice", int, 1, "how spicy the toy's tasks are.", bound=Bound(0, 10))
FLAVOUR = MethodOption[str]("flavour", str, "plain", "the toy's flavour.", choices=("plain", "sweet"), recorded=False)


class Toy(SelfInstruct):
    """Self-Instruct under another name, with two options of its own; its dry run shows what it read."""

    name = "toy"
    summary = "a toy method registered by a test"
    options: tuple[MethodOption[Any], ...] = (SPICE, FLAVOUR)

    def describe(self, settings: MethodSettings) -> list[str]:
        return [f"toy, spice {SPICE.value(settings)}, {FLAVOUR.value(settings)}"]


@pytest.fixture
def toy() -> Iterator[Toy]:
    """The toy method in the registry for one test (one line, as a real method's registration)."""
    METHODS["toy"] = method = Toy()
    try:
        yield method
    finally:
        del METHODS["toy"]


@pytest.fixture
def server(scripted_server: StartServer) -> FakeOpenAIServer:
    return scripted_server(api_key=KEY)


def run(server: FakeOpenAIServer, out: Path, *args: str) -> tuple[int, str, str]:
    argv = ["generate", "--out", str(out), "--base-url", server.url, "--model", "fake-model", "--seed", "7", "-q"]
    result = CliRunner().invoke(cli, [*argv, *args], env={**CLEAN_ENV, "OPENAI_API_KEY": KEY})
    return result.exit_code, result.stdout, result.stderr


def generate_help() -> str:
    result = CliRunner().invoke(cli, ["generate", "--help"], env=CLEAN_ENV, terminal_width=200)
    assert result.exit_code == 0, result.output
    return result.output


def test_a_registered_method_brings_its_options_to_help(toy: Toy) -> None:
    shown = generate_help()
    assert "--spice INTEGER RANGE" in shown and "--method toy: how spicy the toy's tasks are." in shown
    assert "--flavour [plain|sweet]" in shown and "toy: a toy method registered by a test" in shown
    assert "--rounds" in shown and "--pre-query-template" in shown  # the real methods' options stay


def test_the_options_leave_with_the_method() -> None:
    shown = generate_help()
    assert "--spice" not in shown and "toy" not in shown


def test_the_method_reads_its_options_and_run_json_records_the_recorded_ones(
    toy: Toy, tmp_path: Path, server: FakeOpenAIServer
) -> None:
    code, stdout, stderr = run(server, tmp_path / "dry", "--method", "toy", "--spice", "3", "-n", "5", "--dry-run")
    assert code == 0, stderr
    assert "pipeline: toy, spice 3, plain" in stdout and server.requests == []
    out = tmp_path / "run"
    code, _, stderr = run(server, out, "--method", "toy", "--spice", "3", "--flavour", "sweet", "-n", "3")
    assert code == 0, stderr
    settings = json.loads((out / "run.json").read_text())["settings"]
    assert settings["mode"] == "toy" and settings["method_options"] == {"spice": 3}  # flavour is not recorded
    code, _, stderr = run(server, out, "--method", "toy", "--spice", "4", "-n", "4")
    assert code == 2 and "method_options.spice=3, not 4" in stderr and "Traceback" not in stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--method", "self-instruct", "--spice", "3"], "--spice works with --method toy, not self-instruct"),
        (["--method", "evol-instruct", "--flavour", "sweet"], "--flavour works with --method toy, not evol-instruct"),
        (["--method", "toy", "--spice", "11"], "'--spice': 11 is not in the range 0<=x<=10"),
        (["--method", "toy", "--flavour", "salty"], "'--flavour': 'salty' is not one of 'plain', 'sweet'"),
        (["--method", "toy", "--rounds", "2"], "--rounds works with --method evol-instruct, not toy"),
    ],
)
def test_an_option_of_another_method_or_a_bad_value_exits_2(
    toy: Toy, tmp_path: Path, server: FakeOpenAIServer, args: list[str], message: str
) -> None:
    out = tmp_path / "run"
    code, _, stderr = run(server, out, "-n", "3", *args)
    assert code == 2 and message in stderr and "Traceback" not in stderr, stderr
    assert not out.exists() and server.requests == []


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({"spice": 11}, "--spice 11: give a number at least 0 and at most 10"),
        ({"spice": math.nan}, "--spice nan: give a whole number"),
        ({"spice": 2.5}, "--spice 2.5: give a whole number"),
        ({"spice": True}, "--spice True: give a number"),
        ({"spice": "3"}, "--spice '3': give a number"),
        ({"flavour": "salty"}, "--flavour 'salty': choose one of plain, sweet"),
        ({"flavour": 3}, "--flavour 3: give a text"),
        ({"pepper": 1}, "unknown method option 'pepper'"),
    ],
)
def test_from_python_the_declaration_checks_the_values(
    toy: Toy, tmp_path: Path, given: dict[str, object], message: str
) -> None:
    options = selfinstruct.GenerateOptions(
        mode="toy", out=tmp_path / "run", base_url="http://127.0.0.1:9/v1", method_options=given
    )
    with pytest.raises(InputError, match=message.replace("(", r"\(")):
        selfinstruct.estimate(options)
    assert not (tmp_path / "run").exists()


def test_from_python_options_are_typed_and_defaulted(toy: Toy, tmp_path: Path) -> None:
    options = {"mode": "toy", "out": tmp_path / "run", "base_url": "http://127.0.0.1:9/v1", "model": "m"}
    plan = selfinstruct.estimate(selfinstruct.GenerateOptions(**options, method_options={"spice": 2.0}))
    assert plan.target.pipeline.startswith("toy, spice 2, plain,")  # a whole float is the int it means
    plan = selfinstruct.estimate(selfinstruct.GenerateOptions(**options))
    assert plan.target.pipeline.startswith("toy, spice 1, plain,")  # the declared defaults
    assert set(selfinstruct.method_options("toy")) == {"spice", "flavour"}
    assert selfinstruct.method_options()["spice"] is SPICE


def test_evol_instruct_rounds_from_python(tmp_path: Path) -> None:
    """The library takes a real method's option as the flag does (and its default when left out)."""
    base = {"mode": "evol-instruct", "out": tmp_path / "run", "base_url": "http://127.0.0.1:9/v1", "model": "m"}
    assert (
        "up to 2 rounds"
        in selfinstruct.estimate(selfinstruct.GenerateOptions(**base, method_options={"rounds": 2})).target.pipeline
    )
    assert "up to 4 rounds" in selfinstruct.estimate(selfinstruct.GenerateOptions(**base)).target.pipeline
    with pytest.raises(InputError, match="--rounds 0: give a number at least 1 and at most 100"):
        selfinstruct.estimate(selfinstruct.GenerateOptions(**base, method_options={"rounds": 0}))
    with pytest.raises(InputError, match="--pre-query-template works with --method magpie, not evol-instruct"):
        selfinstruct.estimate(selfinstruct.GenerateOptions(**base, method_options={"pre_query_template": "<|u|>"}))
    with pytest.raises(InputError, match="unknown method 'toy'"):
        selfinstruct.method_options("toy")
