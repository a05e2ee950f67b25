"""`selfinstruct export`: every format, seeds, the round trip through load_tasks, determinism and bad input."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from selfinstruct.cli_data import export_cmd
from selfinstruct.errors import InputError
from selfinstruct.export import END_OF_TEXT, FORMATS, TEMPLATES, export, export_data, join_prompt
from selfinstruct.seeds import load_tasks

from .conftest import SEEDS

POOL = [
    {"id": "t1", "instruction": "Write a short poem.", "is_classification": False,
     "instances": [{"input": "", "output": "Waves roll in."}]},
    {"id": "t2", "instruction": "Classify the sentiment of the review.", "is_classification": True,
     "instances": [{"input": "I loved it", "output": "positive"}, {"input": "Terrible food", "output": "negative"},
                   {"input": "It was fine", "output": "neutral"}]},
    {"id": "t3", "instruction": "Name a {placeholder} color.", "is_classification": False,
     "instances": [{"input": "", "output": "Blue."}]},
    {"id": "t4", "instruction": "Explain the idiom.", "is_classification": False, "instances": []},
]  # fmt: skip
INSTANCES = [(t["instruction"], i["input"], i["output"]) for t in POOL for i in t["instances"]]


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.fixture
def pool(tmp_path: Path) -> Path:
    return write_jsonl(tmp_path / "pool.jsonl", POOL)


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    out = tmp_path / "run"
    out.mkdir()
    write_jsonl(out / "tasks.jsonl", [{**t, "meta": {"request": 0, "candidate": k}} for k, t in enumerate(POOL)])
    write_jsonl(out / "seeds.jsonl", [{"id": "seed_task_0", "instruction": "Say hello.", "is_classification": False,
                                       "instances": [{"input": "", "output": "Hello!"}]}])  # fmt: skip
    (out / "run.json").write_text(json.dumps({"status": "complete", "settings": {"language": "en"}}))
    return out


def test_alpaca_round_trip(pool: Path, tmp_path: Path) -> None:
    out = tmp_path / "alpaca.json"
    assert export(pool, "alpaca", out) == 5
    data = json.loads(out.read_text(encoding="utf-8"))
    assert isinstance(data, list) and [tuple(r.values()) for r in data] == INSTANCES
    assert all(list(r) == ["instruction", "input", "output"] for r in data)
    back = load_tasks(out)
    assert [(t.instruction, i.input, i.output) for t in back for i in t.instances] == INSTANCES


def test_alpaca_of_the_original_seeds(original_seeds: Path, tmp_path: Path) -> None:
    tasks = load_tasks(original_seeds)
    out = tmp_path / "seeds_alpaca.json"
    assert export(original_seeds, "alpaca", out) == sum(len(t.instances) for t in tasks)
    back = load_tasks(out)
    assert [(t.instruction, t.instances) for t in back] == [(t.instruction, (i,)) for t in tasks for i in t.instances]


def test_sharegpt(pool: Path, tmp_path: Path) -> None:
    out = tmp_path / "sharegpt.jsonl"
    assert export(pool, "sharegpt", out) == 5
    rows = read_jsonl(out)
    assert rows[0] == {"conversations": [{"from": "human", "value": "Write a short poem."},
                                         {"from": "gpt", "value": "Waves roll in."}]}  # fmt: skip
    assert rows[1]["conversations"][0]["value"] == "Classify the sentiment of the review.\n\nI loved it"


def test_openai_chat(pool: Path, tmp_path: Path) -> None:
    out = tmp_path / "chat.jsonl"
    assert export(pool, "openai-chat", out, instances_per_task=1) == 3
    rows = read_jsonl(out)
    assert [m["role"] for m in rows[1]["messages"]] == ["user", "assistant"]
    assert rows[1]["messages"][0]["content"] == join_prompt("Classify the sentiment of the review.", "I loved it")
    assert rows[1]["messages"][1]["content"] == "positive"


def test_prompt_completion(pool: Path, tmp_path: Path) -> None:
    out = tmp_path / "pc.jsonl"
    assert export(pool, "prompt-completion", out, seed=3) == 5
    rows = read_jsonl(out)
    prompts = {t.format(instruction="Write a short poem.", input="") for _, t in TEMPLATES["en"]}
    assert rows[0]["prompt"] in prompts
    assert rows[0]["completion"] == " Waves roll in." + END_OF_TEXT
    assert "I loved it" in rows[1]["prompt"] and rows[1]["prompt"].startswith(("Classify", "Task:", "Instruction:"))
    assert "{placeholder}" in rows[4]["prompt"]  # braces in the data are not template fields


def test_prompt_completion_is_deterministic_per_seed(tmp_path: Path) -> None:
    a, b, c = (tmp_path / f"{k}.jsonl" for k in "abc")
    export(SEEDS, "prompt-completion", a, seed=1)
    export(SEEDS, "prompt-completion", b, seed=1)
    export(SEEDS, "prompt-completion", c, seed=2)
    assert a.read_bytes() == b.read_bytes() != c.read_bytes()
    used = {r["prompt"].split(" ")[0] for r in read_jsonl(a)}
    assert {"Task:", "Instruction:"} <= used  # several templates are used


def test_prompt_completion_in_chinese(tmp_path: Path) -> None:
    pool = write_jsonl(tmp_path / "zh.jsonl", [{"instruction": "写一首诗", "input": "主题：大海", "output": "海浪"}])
    export(pool, "prompt-completion", tmp_path / "zh_pc.jsonl")
    row = read_jsonl(tmp_path / "zh_pc.jsonl")[0]
    assert row["prompt"] in {t.format(instruction="写一首诗", input="主题：大海") for t, _ in TEMPLATES["zh"]}
    assert row["completion"] == "海浪" + END_OF_TEXT


def test_include_seeds_from_a_run_directory(run_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "with_seeds.json"
    result = export_data(run_dir, "alpaca", out, include_seeds=True)
    assert (result.written, result.tasks, result.seeds, result.skipped) == (6, 3, 1, 1)
    data = json.loads(out.read_text())
    assert data[0] == {"instruction": "Say hello.", "input": "", "output": "Hello!"}
    assert export(run_dir, "alpaca", out) == 5


def test_include_seeds_from_a_file_says_there_are_none(pool: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        export_cmd, [str(pool), "--format", "sharegpt", "--out", str(tmp_path / "x.jsonl"), "--include-seeds"]
    )
    assert result.exit_code == 0, result.stderr
    assert result.stdout.strip().startswith("wrote 5 sharegpt records from 3 tasks ->")
    assert "no seeds to include" in result.stderr and "skipped 1 task(s) without instances" in result.stderr


@pytest.mark.parametrize("fmt", FORMATS)
def test_cli_every_format(run_dir: Path, tmp_path: Path, fmt: str) -> None:
    out = tmp_path / f"out.{fmt}"
    args = [str(run_dir), "--format", fmt, "--out", str(out), "--include-seeds", "--instances-per-task", "2"]
    result = CliRunner().invoke(export_cmd, args)
    assert result.exit_code == 0, result.stderr
    assert result.stdout.count("\n") == 1 and "wrote 5 " in result.stdout and "+ 1 seed tasks" in result.stdout
    text = out.read_text(encoding="utf-8")
    count = len(json.loads(text)) if fmt == "alpaca" else len(text.splitlines())
    assert count == 5


def test_unknown_format(pool: Path, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="unknown export format"):
        export(pool, "csv", tmp_path / "x")
    result = CliRunner().invoke(export_cmd, [str(pool), "--format", "csv", "--out", str(tmp_path / "x")])
    assert result.exit_code == 2 and not (tmp_path / "x").exists()


@pytest.mark.parametrize(
    ("content", "where"),
    [
        ('{"instruction": "ok", "output": "x"}\n{"instruction": "broken\n', ":2: broken JSON"),
        ('{"instruction": "ok", "instances": [{"input": 1, "output": "x"}]}\n', ":1: "),
    ],
)
def test_bad_input_is_one_line_and_writes_nothing(tmp_path: Path, content: str, where: str) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text(content)
    out = tmp_path / "out.json"
    result = CliRunner().invoke(export_cmd, [str(bad), "--format", "alpaca", "--out", str(out)])
    assert result.exit_code == 2 and where in result.stderr and result.stdout == ""
    assert result.stderr.strip().count("\n") == 0 and "Traceback" not in result.stderr
    assert not out.exists() and [p.name for p in tmp_path.iterdir()] == ["bad.jsonl"]


def test_refuses_to_overwrite_its_input(run_dir: Path, pool: Path) -> None:
    for source, target in ((pool, pool), (run_dir, run_dir / "tasks.jsonl")):
        before = target.read_bytes()
        result = CliRunner().invoke(export_cmd, [str(source), "--format", "alpaca", "--out", str(target)])
        assert result.exit_code == 2 and "one of the input files" in result.stderr
        assert target.read_bytes() == before


def test_missing_input_and_directory_output(tmp_path: Path, pool: Path) -> None:
    result = CliRunner().invoke(export_cmd, [str(tmp_path / "nope"), "--format", "alpaca", "--out", "x.json"])
    assert result.exit_code == 2 and "not found" in result.stderr
    result = CliRunner().invoke(export_cmd, [str(pool), "--format", "alpaca", "--out", str(tmp_path)])
    assert result.exit_code == 2 and "is a directory" in result.stderr


def test_help_has_an_example() -> None:
    result = CliRunner().invoke(export_cmd, ["--help"])
    assert result.exit_code == 0 and "Example:" in result.stdout and "selfinstruct export" in result.stdout
