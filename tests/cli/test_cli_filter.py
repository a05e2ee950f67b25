from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from rouge_score import rouge_scorer

from selfinstruct.cli.app import cli
from selfinstruct.filters import keyword as keyword_module

SCORER = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=False)

RECORDS = [
    {"instruction": "Write a short poem about the sea.", "input": "", "output": "Waves...", "extra": 1},
    {"instruction": "Write a short poem about the ocean.", "input": "", "output": "Tides..."},
    {"instruction": "Describe the image below.", "input": "", "output": "..."},
    {"instruction": "Hi there", "input": "", "output": "Hello"},
    {"instruction": "Explain how vaccines train the immune system.", "input": "", "output": "..."},
    {"instruction": "- List three fruits that are red.", "input": "", "output": "..."},
]


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def dataset(tmp_path: Path) -> Path:
    path = tmp_path / "data.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in RECORDS), encoding="utf-8")
    return path


def test_filter_keeps_records_unchanged_and_in_order(tmp_path: Path, dataset: Path) -> None:
    out, rejected = tmp_path / "out.jsonl", tmp_path / "rej.jsonl"
    code, stdout, _ = run("filter", str(dataset), "--out", str(out), "--rejected", str(rejected), "-q")
    assert code == 0
    kept = [json.loads(line) for line in out.read_text().splitlines()]
    assert kept == [RECORDS[0], RECORDS[4]]
    assert "kept 2 of 6" in stdout
    for reason in (
        "rouge: near_duplicate",
        "keyword: blacklisted",
        "length: too_short",
        "format: starts_with_punctuation",
    ):
        assert reason in stdout
    rej = [json.loads(line) for line in rejected.read_text().splitlines()]
    assert [r["line"] for r in rej] == [2, 3, 4, 6]
    assert rej[0]["similar_to"] == RECORDS[0]["instruction"] and rej[0]["score"] > 0.7
    assert rej[0]["record"] == RECORDS[1]


def test_json_array_in_and_out_and_json_summary(tmp_path: Path) -> None:
    src = tmp_path / "alpaca_data.json"
    src.write_text(json.dumps(RECORDS, indent=2), encoding="utf-8")
    out = tmp_path / "clean.json"
    code, stdout, _ = run("filter", str(src), "--out", str(out), "--filters", "rouge", "--json", "-q")
    assert code == 0
    assert json.loads(out.read_text()) == [RECORDS[i] for i in (0, 2, 3, 4, 5)]
    summary = json.loads(stdout)
    assert summary["kept"] == 5 and summary["by_reason"] == {"rouge:near_duplicate": 1}


def test_against_reference_is_not_written(tmp_path: Path, dataset: Path) -> None:
    ref = tmp_path / "seeds.jsonl"
    ref.write_text(json.dumps({"instruction": "Explain how vaccines train our immune system."}) + "\n")
    out = tmp_path / "out.jsonl"
    code, stdout, _ = run("filter", str(dataset), "-o", str(out), "--against", str(ref), "--filters", "rouge", "-q")
    assert code == 0
    kept = [json.loads(line)["instruction"] for line in out.read_text().splitlines()]
    assert RECORDS[4]["instruction"] not in kept and len(kept) == 4
    assert "1 reference" in stdout


def test_decisions_equal_rouge_score_greedy_loop(tmp_path: Path, original_seeds: Path) -> None:
    rows = [json.loads(line) for line in original_seeds.read_text().splitlines()]
    extra = [dict(r, id=r["id"] + "_v", instruction=r["instruction"].replace(" the ", " a ")) for r in rows[:80]]
    src = tmp_path / "mixed.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in rows + extra))
    out = tmp_path / "out.jsonl"
    assert run("filter", str(src), "-o", str(out), "--filters", "rouge", "-q")[0] == 0
    # The original's loop over the tasks: an unchanged copy (no " the ") is the same task, kept with it.
    kept_brute: list[str] = []
    for task in dict.fromkeys(r["instruction"] for r in rows + extra):
        if all(SCORER.score(k, task)["rougeL"].fmeasure <= 0.7 for k in kept_brute):
            kept_brute.append(task)
    expected = [r["instruction"] for r in rows + extra if r["instruction"] in kept_brute]
    assert [json.loads(line)["instruction"] for line in out.read_text().splitlines()] == expected


def test_alpaca_export_with_two_instances_per_task_keeps_whole_tasks(tmp_path: Path, seeds: Path) -> None:
    """Issue 21, defect 8: an export has one record per instance; the second instance of a task is the same
    instruction, not a ROUGE-L 1.0 near-duplicate of it. The decisions are those for the tasks alone."""
    tasks = [json.loads(line) for line in seeds.read_text(encoding="utf-8").splitlines()]
    for task in tasks:
        first = task["instances"][0]
        task["instances"] = [first, {"input": first["input"], "output": first["output"] + " (second take)"}]
    pool = tmp_path / "pool.jsonl"
    pool.write_text("".join(json.dumps(t) + "\n" for t in tasks), encoding="utf-8")
    export = tmp_path / "alpaca.json"
    assert run("export", str(pool), "--format", "alpaca", "--out", str(export))[0] == 0
    records = json.loads(export.read_text(encoding="utf-8"))
    assert len(records) == 2 * len(tasks)

    alone = tmp_path / "tasks_alone.jsonl"
    assert run("filter", str(seeds), "-o", str(alone), "-q")[0] == 0
    kept_tasks = [json.loads(line)["instruction"] for line in alone.read_text(encoding="utf-8").splitlines()]
    out = tmp_path / "clean.json"
    code, stdout, _ = run("filter", str(export), "-o", str(out), "-q")
    assert code == 0
    kept = json.loads(out.read_text(encoding="utf-8"))
    assert [r["instruction"] for r in kept] == [i for i in kept_tasks for _ in range(2)]
    assert f"{len(records)} records in {len(tasks)} tasks" in stdout
    assert f"kept {len(kept_tasks)} tasks" in stdout


def test_a_near_duplicate_task_is_dropped_whole(tmp_path: Path) -> None:
    a, b = "Write a short poem about the sea.", "Write a short poem about the ocean."
    rows = [
        {"instruction": a, "input": "", "output": "Waves"},
        {"instruction": b, "input": "", "output": "Tides"},
        {"instruction": f" {a.replace(' ', '  ')}\n", "input": "calm", "output": "Still water"},  # spacing aside, a
        {"instruction": b, "input": "storm", "output": "Thunder"},
    ]
    src, out, rej = tmp_path / "in.jsonl", tmp_path / "out.jsonl", tmp_path / "rej.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    code, stdout, _ = run("filter", str(src), "-o", str(out), "--rejected", str(rej), "--json", "-q")
    assert code == 0
    assert [json.loads(line) for line in out.read_text().splitlines()] == [rows[0], rows[2]]
    dropped = [json.loads(line) for line in rej.read_text().splitlines()]
    assert [(d["line"], d["similar_to"]) for d in dropped] == [(2, a), (4, a)]
    summary = json.loads(stdout)
    assert (summary["total"], summary["kept"], summary["tasks"], summary["kept_tasks"]) == (4, 2, 2, 1)


@pytest.fixture
def no_jieba(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """As if jieba were not installed: importing it fails."""
    monkeypatch.setitem(sys.modules, "jieba", None)
    keyword_module._jieba_cut.cache_clear()
    yield
    keyword_module._jieba_cut.cache_clear()


@pytest.mark.usefixtures("no_jieba")
@pytest.mark.parametrize(
    ("language", "instruction"), [("zh", "Write a short poem about the sea."), ("auto", "写一首关于大海的短诗。")]
)
def test_chinese_keywords_without_jieba_one_line_exit_2(tmp_path: Path, language: str, instruction: str) -> None:
    src, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    src.write_text(json.dumps({"instruction": instruction}) + "\n", encoding="utf-8")
    code, _, stderr = run("filter", str(src), "-o", str(out), "--language", language, "-q")
    assert code == 2 and 'pip install "selfinstruct[zh]"' in stderr
    assert len(stderr.strip().splitlines()) == 1 and not out.exists()


@pytest.mark.usefixtures("no_jieba")
def test_generate_in_chinese_without_jieba_is_refused_before_anything(tmp_path: Path) -> None:
    out = tmp_path / "run"
    args = ["generate", "--language", "zh", "-n", "5", "--out", str(out), "--base-url", "http://127.0.0.1:9/v1"]
    code, _, stderr = run(*args, "--model", "m")
    assert code == 2 and 'pip install "selfinstruct[zh]"' in stderr
    assert len(stderr.strip().splitlines()) == 1 and not out.exists()


@pytest.mark.usefixtures("no_jieba")
def test_english_data_with_language_auto_needs_no_jieba(tmp_path: Path, dataset: Path) -> None:
    out = tmp_path / "out.jsonl"
    assert run("filter", str(dataset), "-o", str(out), "--language", "auto", "-q")[0] == 0
    assert len(out.read_text().splitlines()) == 2


def test_chinese_dataset(tmp_path: Path, zh_original_seeds: Path) -> None:
    out = tmp_path / "out.jsonl"
    code, stdout, _ = run("filter", str(zh_original_seeds), "-o", str(out), "--language", "zh", "-q")
    assert code == 0
    kept = len(out.read_text(encoding="utf-8").splitlines())
    assert 160 < kept < 175
    code, stdout, _ = run("filter", str(zh_original_seeds), "-o", str(out), "-q")
    assert "--language zh" in stdout  # the hint when English rules drop everything


@pytest.mark.parametrize(
    ("content", "args", "message"),
    [
        ('{"instruction": "A fine task here"}\n{"oops"\n', [], ":2: broken JSON"),
        ('{"instruction": ["list"]}\n', [], ':1: "instruction" must be a string'),
        ('{"text": "no instruction"}\n', [], ':1: missing "instruction"'),
        ("", [], "file is empty"),
        ('{"instruction": "A fine task here"}\n', ["--threshold", "abc"], "'abc' is not a valid float"),
        ('{"instruction": "A fine task here"}\n', ["--threshold", "1.5"], "not in the range"),
        ('{"instruction": "A fine task here"}\n', ["--filters", "rouge,foo"], "unknown filter 'foo'"),
        ('{"instruction": "A fine task here"}\n', ["--language", "fr"], "'fr' is not one of"),
        (
            '{"instruction": "A fine task here"}\n',
            ["--against", "missing.jsonl"],
            "missing.jsonl: file not found",
        ),
    ],
)
def test_bad_input_one_line_exit_2_nothing_written(tmp_path: Path, content: str, args: list[str], message: str) -> None:
    src = tmp_path / "in.jsonl"
    src.write_text(content, encoding="utf-8")
    out, rej = tmp_path / "out.jsonl", tmp_path / "rej.jsonl"
    code, _stdout, stderr = run("filter", str(src), "-o", str(out), "--rejected", str(rej), *args)
    assert code == 2
    assert message in stderr
    assert len(stderr.strip().splitlines()) == 1 and "Traceback" not in stderr
    assert not out.exists() and not rej.exists()
    assert list(tmp_path.iterdir()) == [src]


def test_non_utf8_input(tmp_path: Path) -> None:
    src = tmp_path / "in.jsonl"
    src.write_bytes(b'{"instruction": "Fine"}\n{"instruction": "\xff\xfe"}\n')
    code, _, stderr = run("filter", str(src), "-o", str(tmp_path / "o.jsonl"))
    assert code == 2 and f"{src}:2: not valid UTF-8" in stderr


def test_out_is_a_directory(tmp_path: Path, dataset: Path) -> None:
    code, _, stderr = run("filter", str(dataset), "-o", str(tmp_path))
    assert code == 2 and "is a directory" in stderr


def test_help_has_example() -> None:
    code, stdout, _ = run("filter", "--help")
    assert code == 0 and "Example:" in stdout and "--against" in stdout


def test_the_cli_starts_without_importing_the_openai_sdk() -> None:
    """filter, stats and export never call an endpoint, so they do not pay for importing openai (0.4 s)."""
    import subprocess
    import sys

    code = (
        "import sys, selfinstruct.cli.app, selfinstruct.pipeline.generate; "
        "assert 'openai' not in sys.modules, 'openai imported'"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
