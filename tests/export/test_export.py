"""`selfinstruct export`: every format and layout, seeds, the round trip through load_tasks, determinism, the
validation split, shuffling, roles, system turns, EOS, empty exports and bad input (the hf folder: test_export_hf)."""

from __future__ import annotations

import json
import os
import stat
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from selfinstruct.cli.export import export_cmd
from selfinstruct.errors import InputError
from selfinstruct.export.format import join_prompt
from selfinstruct.export.options import resolve_export_settings
from selfinstruct.export.prompt_completion import TEMPLATES
from selfinstruct.export.registry import FORMATS
from selfinstruct.export.write import export, export_data
from selfinstruct.io.seeds import load_tasks

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
    assert rows[0]["completion"] == " Waves roll in."  # no literal end-of-text marker: trainers add their EOS
    assert "I loved it" in rows[1]["prompt"] and rows[1]["prompt"].startswith(("Classify", "Task:", "Instruction:"))
    assert "{placeholder}" in rows[4]["prompt"]  # braces in the data are not template fields


def test_prompt_completion_is_deterministic_per_seed(tmp_path: Path, seeds: Path) -> None:
    a, b, c = (tmp_path / f"{k}.jsonl" for k in "abc")
    export(seeds, "prompt-completion", a, seed=1)
    export(seeds, "prompt-completion", b, seed=1)
    export(seeds, "prompt-completion", c, seed=2)
    assert a.read_bytes() == b.read_bytes() != c.read_bytes()
    used = {r["prompt"].split(" ")[0] for r in read_jsonl(a)}
    assert {"Task:", "Instruction:"} <= used  # several templates are used


def test_prompt_completion_in_chinese(tmp_path: Path) -> None:
    pool = write_jsonl(tmp_path / "zh.jsonl", [{"instruction": "写一首诗", "input": "主题：大海", "output": "海浪"}])
    export(pool, "prompt-completion", tmp_path / "zh_pc.jsonl")
    row = read_jsonl(tmp_path / "zh_pc.jsonl")[0]
    assert row["prompt"] in {t.format(instruction="写一首诗", input="主题：大海") for t, _ in TEMPLATES["zh"]}
    assert row["completion"] == "海浪"


def test_include_seeds_from_a_run_directory(run_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "with_seeds.json"
    result = export_data(resolve_export_settings(run_dir, "alpaca", out, include_seeds=True))
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
    assert "for TRL export --format openai-chat or hf instead" in result.stderr


FILE_FORMATS = [f for f in FORMATS if f != "hf"]


@pytest.mark.parametrize("suffix", [".json", ".jsonl"])
@pytest.mark.parametrize("fmt", FILE_FORMATS)
def test_cli_every_format_in_both_layouts(run_dir: Path, tmp_path: Path, fmt: str, suffix: str) -> None:
    out = tmp_path / f"out{suffix}"
    args = [str(run_dir), "--format", fmt, "--out", str(out), "--include-seeds", "--instances-per-task", "2"]
    result = CliRunner().invoke(export_cmd, args)
    assert result.exit_code == 0, result.stderr
    assert result.stdout.count("\n") == 1 and "wrote 5 " in result.stdout and "+ 1 seed tasks" in result.stdout
    text = out.read_text(encoding="utf-8")
    rows = json.loads(text) if suffix == ".json" else [json.loads(line) for line in text.splitlines()]
    assert isinstance(rows, list) and len(rows) == 5 and all(isinstance(r, dict) for r in rows)
    if suffix == ".jsonl":
        assert not text.startswith("[")


@pytest.mark.parametrize("name", ["x.txt", "x", "x.json.gz", "x.parquet"])
def test_an_extension_that_is_neither_json_nor_jsonl_is_refused(pool: Path, tmp_path: Path, name: str) -> None:
    out = tmp_path / name
    result = CliRunner().invoke(export_cmd, [str(pool), "--format", "alpaca", "--out", str(out)])
    assert result.exit_code == 2 and result.stdout == "" and ".json (a JSON array) or .jsonl" in result.stderr
    assert result.stderr.strip().count("\n") == 0 and not out.exists()


def test_hf_needs_a_folder_not_a_file(pool: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(export_cmd, [str(pool), "--format", "hf", "--out", str(tmp_path / "x.jsonl")])
    assert result.exit_code == 2 and "dataset folder" in result.stderr and not (tmp_path / "x.jsonl").exists()


def test_openai_chat_as_a_json_array_notes_the_api_wants_jsonl(pool: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(export_cmd, [str(pool), "--format", "openai-chat", "--out", str(tmp_path / "c.json")])
    assert result.exit_code == 0 and "JSONL only" in result.stderr
    assert len(json.loads((tmp_path / "c.json").read_text())) == 5


@pytest.mark.parametrize(
    ("rows", "message"),
    [([], "holds no tasks"), ([{"instruction": "Explain the idiom.", "instances": []}], "none of its 1 tasks")],
)
def test_an_empty_export_is_an_error_and_writes_nothing(
    tmp_path: Path, rows: list[dict[str, Any]], message: str
) -> None:
    run = tmp_path / "run"
    run.mkdir()
    write_jsonl(run / "tasks.jsonl", rows)
    (run / "run.json").write_text("{}")
    for fmt, name in (("alpaca", "out.json"), ("openai-chat", "out.jsonl"), ("hf", "out_hf")):
        result = CliRunner().invoke(export_cmd, [str(run), "--format", fmt, "--out", str(tmp_path / name)])
        assert result.exit_code == 1, result.output
        assert "nothing to export" in result.stderr and message in result.stderr and result.stdout == ""
        assert result.stderr.strip().count("\n") == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


def test_eos_is_opt_in_and_only_for_prompt_completion(pool: Path, tmp_path: Path) -> None:
    out = tmp_path / "pc.jsonl"
    assert export(pool, "prompt-completion", out, eos="</s>") == 5
    assert read_jsonl(out)[0]["completion"] == " Waves roll in.</s>"
    result = CliRunner().invoke(export_cmd, [str(pool), "--format", "alpaca", "--out", "x.json", "--eos", "</s>"])
    assert result.exit_code == 2 and "--eos applies to --format prompt-completion only" in result.stderr


def test_sharegpt_roles_and_system_turn(pool: Path, tmp_path: Path) -> None:
    out = tmp_path / "conversations.jsonl"
    args = [str(pool), "--format", "sharegpt", "--out", str(out), "--roles", "openai", "--system", "Be brief."]
    result = CliRunner().invoke(export_cmd, args)
    assert result.exit_code == 0 and "--roles openai" not in result.stderr
    assert read_jsonl(out)[0] == {"conversations": [{"from": "system", "value": "Be brief."},
                                                    {"from": "user", "value": "Write a short poem."},
                                                    {"from": "assistant", "value": "Waves roll in."}]}  # fmt: skip
    export(pool, "sharegpt", out, system="Be brief.")
    assert [t["from"] for t in read_jsonl(out)[0]["conversations"]] == ["system", "human", "gpt"]


def test_openai_chat_system_turn(pool: Path, tmp_path: Path) -> None:
    out = tmp_path / "chat.jsonl"
    export(pool, "openai-chat", out, system="You are a helpful assistant.")
    assert read_jsonl(out)[0]["messages"][0] == {"role": "system", "content": "You are a helpful assistant."}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--format", "openai-chat", "--roles", "openai"], "--roles applies to --format sharegpt only"),
        (["--format", "alpaca", "--system", "Hi."], "--system needs a format with a system turn"),
        (["--format", "prompt-completion", "--system", "Hi."], "--system needs a format with a system turn"),
        (["--format", "sharegpt", "--system", " "], "--system is empty"),
        (["--format", "sharegpt", "--validation-split", "1.5"], "--validation-split 1.5 is out of range"),
        (["--format", "sharegpt", "--validation-split", "-0.1"], "out of range"),
        (["--format", "sharegpt", "--validation-split", "0.9"], "leaves nothing to train on"),
    ],
)
def test_options_that_do_not_fit_are_one_line_exit_2(pool: Path, tmp_path: Path, args: list[str], message: str) -> None:
    out = tmp_path / "x.json"
    result = CliRunner().invoke(export_cmd, [str(pool), "--out", str(out), *args])
    assert result.exit_code == 2 and message in result.stderr and result.stdout == ""
    assert result.stderr.strip().count("\n") == 0 and not out.exists()


def test_shuffle_is_a_seeded_permutation(tmp_path: Path, seeds: Path) -> None:
    plain, a, b, c = (tmp_path / f"{k}.jsonl" for k in ("plain", "a", "b", "c"))
    export(seeds, "alpaca", plain)
    export(seeds, "alpaca", a, shuffle=True, seed=1)
    export(seeds, "alpaca", b, shuffle=True, seed=1)
    export(seeds, "alpaca", c, shuffle=True, seed=2)
    assert a.read_bytes() == b.read_bytes() != c.read_bytes()
    rows = [json.dumps(r, sort_keys=True) for r in read_jsonl(plain)]
    shuffled = [json.dumps(r, sort_keys=True) for r in read_jsonl(a)]
    assert shuffled != rows and sorted(shuffled) == sorted(rows)


def test_validation_split_holds_out_whole_tasks(tmp_path: Path, seeds: Path) -> None:
    out = tmp_path / "train.jsonl"
    result = export_data(resolve_export_settings(seeds, "alpaca", out, validation_split=0.1, seed=3))
    validation = tmp_path / "train.validation.jsonl"
    assert [(o.split, o.path) for o in result.outputs] == [("train", out), ("validation", validation)]
    train_rows, val_rows = read_jsonl(out), read_jsonl(validation)
    tasks = load_tasks(seeds)
    assert len(train_rows) + len(val_rows) == result.written == sum(len(t.instances) for t in tasks)
    train_instr = {r["instruction"] for r in train_rows}
    val_instr = {r["instruction"] for r in val_rows}
    assert not train_instr & val_instr and len(val_instr) == round(0.1 * len(tasks))
    assert result.outputs[1].tasks == len(val_instr) and result.outputs[0].tasks == len(train_instr)
    # Each split keeps pool order; the same seed picks the same tasks.
    order = [t.instruction for t in tasks]
    assert [order.index(r["instruction"]) for r in val_rows] == sorted(order.index(r["instruction"]) for r in val_rows)
    again = tmp_path / "again.jsonl"
    export(seeds, "alpaca", again, validation_split=0.1, seed=3)
    assert (tmp_path / "again.validation.jsonl").read_bytes() == validation.read_bytes()


def test_validation_split_from_the_cli(pool: Path, tmp_path: Path) -> None:
    out = tmp_path / "x.json"
    result = CliRunner().invoke(export_cmd, [str(pool), "--format", "alpaca", "--out", str(out), "--validation-split",
                                             "0.3", "--shuffle"])  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert result.stdout.count("\n") == 1 and "train ->" in result.stdout and "validation ->" in result.stdout
    assert len(json.loads(out.read_text())) + len(json.loads((tmp_path / "x.validation.json").read_text())) == 5


@pytest.fixture
def umask_027() -> Iterator[None]:
    old = os.umask(0o027)
    yield
    os.umask(old)


def test_exported_files_honour_the_umask(pool: Path, tmp_path: Path, umask_027: None) -> None:
    out = tmp_path / "x.jsonl"
    export(pool, "sharegpt", out, validation_split=0.3)
    for path in (out, tmp_path / "x.validation.jsonl"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o640


def test_unknown_format(pool: Path, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="unknown export format"):
        export(pool, "csv", tmp_path / "x.json")
    result = CliRunner().invoke(export_cmd, [str(pool), "--format", "csv", "--out", str(tmp_path / "x.json")])
    assert result.exit_code == 2 and not (tmp_path / "x.json").exists()


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


def test_hf_without_pyarrow_names_the_extra(pool: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # import pyarrow now raises ImportError
    out = tmp_path / "ds"
    result = CliRunner().invoke(export_cmd, [str(pool), "--format", "hf", "--out", str(out)])
    assert result.exit_code == 2 and 'pip install "selfinstruct[hf]"' in result.stderr and not out.exists()
