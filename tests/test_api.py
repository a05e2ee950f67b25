"""The library: one typed call per command, the same outcome as the command line, the same checks."""

from __future__ import annotations

import dataclasses
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner

import selfinstruct
from selfinstruct.audit.settings import AUDIT_BOUNDS, AUDIT_CHOICES, AuditOptions
from selfinstruct.cli.app import cli
from selfinstruct.cli.audit import audit_cmd
from selfinstruct.cli.generate import generate as generate_cmd
from selfinstruct.engine.options import ENGINE_BOUNDS, Bound
from selfinstruct.methods.registry import method_options
from selfinstruct.pipeline.settings import GENERATE_BOUNDS, GENERATE_CHOICES, GenerateOptions
from tests.servers import StartServer

KEY = "sk-test-api"


def test_importing_the_package_loads_no_command_and_no_sdk() -> None:
    code = (
        "import sys, selfinstruct\n"
        "assert 'openai' not in sys.modules and 'selfinstruct.api' not in sys.modules, sorted(sys.modules)\n"
        "assert selfinstruct.generate.__module__ == 'selfinstruct.api'\n"
        "assert callable(selfinstruct.GenerateOptions)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    with pytest.raises(AttributeError, match="no attribute 'nonsense'"):
        selfinstruct.nonsense  # noqa: B018
    assert set(selfinstruct.__all__) >= {
        "generate",
        "audit_pool",
        "filter_file",
        "compute_stats",
        "export_pool",
        "validate_seeds",
    }


def test_a_library_run_writes_the_pool_the_command_writes(
    tmp_path: Path, scripted_server: StartServer, seeds: Path
) -> None:
    with scripted_server(api_key=KEY) as server:
        common = {"seeds": str(seeds), "n": 12, "base_url": server.url, "model": "fake-model", "seed": 7}
        report = selfinstruct.generate(
            GenerateOptions(**common, out=tmp_path / "lib", api_key=KEY, concurrency=4), notice=lambda _: None
        )
        argv = ["generate", "--seeds", str(seeds), "-n", "12", "--base-url", server.url, "--model", "fake-model",
                "--seed", "7", "--out", str(tmp_path / "cli"), "-q"]  # fmt: skip
        result = CliRunner().invoke(cli, argv, env={"OPENAI_API_KEY": KEY, "OPENAI_BASE_URL": None})
    assert result.exit_code == 0, result.stderr
    assert report.status == "complete" and report.accepted == 12
    assert (tmp_path / "lib" / "tasks.jsonl").read_bytes() == (tmp_path / "cli" / "tasks.jsonl").read_bytes()
    exported = selfinstruct.export_pool(tmp_path / "lib", "alpaca", tmp_path / "alpaca.json")
    assert exported.tasks == 12 and exported.written >= 12
    assert selfinstruct.validate_seeds(tmp_path / "lib" / "tasks.jsonl").lines()
    assert selfinstruct.compute_stats(tmp_path / "lib", verbs=False).to_dict()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"n": 0}, "-n 0: give a number at least 1"),
        ({"n": "10"}, "-n '10': give a number"),
        ({"timeout": math.nan}, "--timeout nan: give a finite number"),
        ({"concurrency": 0}, "--concurrency 0: give a number at least 1 and at most 1024"),
        ({"max_retries": 1.5}, "--max-retries 1.5: give a whole number"),
        ({"threshold": 1.5}, "--threshold 1.5: give a number at least 0 and at most 1"),
        ({"api": "grpc"}, "--api 'grpc': choose one of chat, completions"),
        ({"mode": "evol"}, "unknown method 'evol'"),
        ({"temperature": "classify=9"}, "--temperature classify=9: give a number from 0 to 2"),
    ],
)
def test_bad_options_from_python_are_the_same_input_errors(
    tmp_path: Path, change: dict[str, Any], message: str
) -> None:
    out = tmp_path / "run"
    options = GenerateOptions(**{"out": out, "base_url": "http://127.0.0.1:9/v1", **change})
    with pytest.raises(selfinstruct.InputError, match=message.replace("(", r"\(").replace("'", "'")):
        selfinstruct.generate(options, notice=lambda _: None)
    assert not out.exists()


def _bounds_of(param: click.Parameter) -> Bound | None:
    kind = param.type
    if isinstance(kind, (click.IntRange, click.FloatRange)):
        return Bound(kind.min, kind.max, bool(kind.min_open), isinstance(kind, click.IntRange))
    return None


@pytest.mark.parametrize(
    ("command", "options", "bounds", "choices"),
    [
        (generate_cmd, GenerateOptions, ENGINE_BOUNDS | GENERATE_BOUNDS, GENERATE_CHOICES),
        (audit_cmd, AuditOptions, ENGINE_BOUNDS | AUDIT_BOUNDS, AUDIT_CHOICES),
    ],
)
def test_the_options_and_the_flags_cannot_drift(
    command: click.Command, options: type[Any], bounds: dict[str, Bound], choices: dict[str, tuple[str, ...]]
) -> None:
    """Every field is a flag of the command with the same default, range and choices, and every flag that is
    not only about display is a field."""
    params = {p.name: p for p in command.params}
    fields = {f.name: f for f in dataclasses.fields(options)}
    display = {"verbose", "quiet", "as_json"}
    own = set(method_options()) if options is GenerateOptions else set()  # the flags of `method_options`
    assert not own & set(fields)  # no method option hides a shared one
    assert set(params) - display - own == set(fields) - {"method_options"}
    fields.pop("method_options", None)
    for name, field in fields.items():
        param = params[name]
        if param.default is not None and not isinstance(param.default, type(click.core.UNSET)):
            if param.multiple:
                assert field.default == tuple(param.default), name
            else:
                assert field.default == param.default, name
        flag_bounds = _bounds_of(param)
        if flag_bounds is not None:
            ours = bounds[name]
            assert (ours.low, ours.high, ours.low_open, ours.integer) == (
                flag_bounds.low,
                flag_bounds.high,
                flag_bounds.low_open,
                flag_bounds.integer,
            ), name
        if isinstance(param.type, click.Choice) and name in choices:
            assert tuple(param.type.choices) == choices[name], name


def test_the_method_option_flags_are_their_declarations() -> None:
    """Each method option's flag has its declared range and choices, no default (None: not given, so that one
    given to another method is refused) and help naming the methods that take it."""
    params = {p.name: p for p in generate_cmd.params}
    for name, (spec, takers) in method_options().items():
        param = params[name]
        assert param.default is None and param.opts == [spec.flag], name
        assert isinstance(param, click.Option) and param.help == f"--method {', '.join(takers)}: {spec.help}"
        flag_bounds = _bounds_of(param)
        if spec.bound is not None:
            assert flag_bounds is not None, name
            assert (spec.bound.low, spec.bound.high, spec.bound.low_open) == (
                flag_bounds.low,
                flag_bounds.high,
                flag_bounds.low_open,
            ), name
        if spec.choices:
            assert isinstance(param.type, click.Choice) and tuple(param.type.choices) == spec.choices, name
