"""Nonsense option values are one line and exit 2 before anything runs: NaN and infinity in every float option,
an empty --out, a filter output that is its own input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from selfinstruct.cli.app import cli

CLEARED = ("OPENAI_BASE_URL", "SELFINSTRUCT_MODEL", "SELFINSTRUCT_PRICE_INPUT", "SELFINSTRUCT_PRICE_OUTPUT",
           "SELFINSTRUCT_BATCH_POLL")  # fmt: skip
ENV: dict[str, str | None] = {"OPENAI_API_KEY": "sk-test-options", **dict.fromkeys(CLEARED)}
NOWHERE = "http://127.0.0.1:9/v1"  # nothing listens: a test that got past option checking would fail differently


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), env=ENV)
    return result.exit_code, result.stdout, result.stderr


def pool(tmp_path: Path) -> Path:
    path = tmp_path / "pool.jsonl"
    task = {"id": "t0", "instruction": "Write a haiku about autumn leaves.", "instances": [{"output": "x"}]}
    path.write_text(json.dumps(task) + "\n", encoding="utf-8")
    return path


GENERATE = ["generate", "--seeds", "{seeds}", "--base-url", NOWHERE, "--model", "m", "-n", "1"]
AUDIT_CAP = ["--max-cost", "1e-6"]  # the case: a NaN price made this cap no cap
FLOAT_CASES = [
    [*GENERATE, "--timeout", "{v}"],
    [*GENERATE, "--rpm", "{v}"],
    [*GENERATE, "--tpm", "{v}"],
    [*GENERATE, "--min-acceptance", "{v}"],
    [*GENERATE, "--threshold", "{v}"],
    [*GENERATE, "--batch", "--batch-poll", "{v}"],
    [*GENERATE, "--price-input", "{v}", "--price-output", "1", "--max-cost", "1"],
    [*GENERATE, "--price-input", "1", "--price-output", "1", "--max-cost", "{v}"],
    [*GENERATE, "--batch", "--batch-discount", "{v}"],
    ["audit", "{pool}", "--judge-base-url", NOWHERE, "--price-input", "{v}", "--price-output", "1", *AUDIT_CAP],
    ["filter", "{pool}", "--out", "{out}", "--threshold", "{v}"],
    ["filter", "{pool}", "--out", "{out}", "--min-score", "{v}"],
    ["export", "{pool}", "--format", "alpaca", "--out", "{out}", "--min-score", "{v}"],
    ["export", "{pool}", "--format", "alpaca", "--out", "{out}", "--validation-split", "{v}"],
]


def _generate(seeds: Path) -> list[str]:
    """GENERATE with the seed file in place."""
    return [a.format(seeds=seeds) for a in GENERATE]


def _case_id(case: list[str]) -> str:
    return f"{case[0]} {case[case.index('{v}') - 1]}"


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "NaN", "Infinity"])
@pytest.mark.parametrize("case", FLOAT_CASES, ids=_case_id)
def test_nan_and_infinity_are_refused_by_every_float_option(
    tmp_path: Path, case: list[str], value: str, seeds: Path
) -> None:
    out = tmp_path / "out.jsonl"
    args = [a.format(v=value, pool=pool(tmp_path), out=out, seeds=seeds) for a in case]
    code, stdout, stderr = run(*[*args, "--out", str(tmp_path / "run")] if case[0] == "generate" else args)
    lines = stderr.strip().splitlines()
    assert code == 2 and len(lines) == 1 and "Traceback" not in stderr, stderr
    assert value in lines[0] and ("finite" in lines[0] or "range" in lines[0])
    assert not out.exists() and not (tmp_path / "run").exists() and stdout == ""


@pytest.mark.parametrize("value", ["nan", "inf"])
@pytest.mark.parametrize("option", ["--temperature", "--top-p", "--max-tokens"])
def test_nan_and_infinity_are_refused_by_the_step_options(tmp_path: Path, option: str, value: str, seeds: Path) -> None:
    code, _, stderr = run(*_generate(seeds), "--out", str(tmp_path / "run"), option, f"classify={value}")
    assert code == 2 and len(stderr.strip().splitlines()) == 1 and f"{option} classify={value}" in stderr
    assert not (tmp_path / "run").exists()


def test_an_empty_out_is_refused_and_nothing_lands_in_the_current_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, seeds: Path
) -> None:
    source = pool(tmp_path)
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)
    for args in (
        [*_generate(seeds), "--out", ""],
        ["filter", str(source), "--out", ""],
        ["export", str(source), "--format", "alpaca", "--out", ""],
        ["audit", str(source), "--judge-base-url", NOWHERE, "--out", ""],
    ):
        code, _, stderr = run(*args)
        assert code == 2 and len(stderr.strip().splitlines()) == 1 and "--out is empty" in stderr, (args, stderr)
        assert list(work.iterdir()) == []


@pytest.mark.parametrize("option", ["--out", "--rejected"])
def test_filter_refuses_to_overwrite_its_input(tmp_path: Path, option: str) -> None:
    source = pool(tmp_path)
    before = source.read_bytes()
    other = str(tmp_path / "other.jsonl")
    same = str(tmp_path / ".." / tmp_path.name / "pool.jsonl")  # the input under another spelling
    args = ["--out", same] if option == "--out" else ["--out", other, "--rejected", same]
    code, _, stderr = run("filter", str(source), *args)
    assert code == 2 and len(stderr.strip().splitlines()) == 1 and "is the input file" in stderr
    assert source.read_bytes() == before and not Path(other).exists()
