from __future__ import annotations

import json
from pathlib import Path

import pytest

from selfinstruct.errors import InputError
from selfinstruct.filters import FilterChain
from selfinstruct.io.seeds import load_tasks, validate_seeds
from selfinstruct.tasks import Instance


def write(tmp_path: Path, content: str | bytes, name: str = "seeds.jsonl") -> Path:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def test_original_seed_set_loads_unchanged(original_seeds: Path) -> None:
    tasks = load_tasks(original_seeds)
    assert len(tasks) == 175
    assert sum(t.is_classification is True for t in tasks) == 26
    lines = original_seeds.read_text(encoding="utf-8").splitlines()
    for task, line in zip(tasks, lines, strict=True):
        assert task.to_dict() == json.loads(line)


def test_chinese_and_user_oriented_sets_load(zh_original_seeds: Path, user_oriented: Path) -> None:
    assert len(load_tasks(zh_original_seeds)) == 175
    tasks = load_tasks(user_oriented)
    assert len(tasks) == 252
    assert all(t.is_classification is None and t.name is None for t in tasks)
    assert tasks[0].extra["motivation_app"] == "Grammarly"


def test_alpaca_records_and_json_array(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        json.dumps(
            [
                {"instruction": "Give three tips for sleeping well.", "input": "", "output": "1. ..."},
                {"instruction": "Translate to French.", "input": "Good morning", "output": "Bonjour"},
            ],
            indent=2,
        ),
        "alpaca.json",
    )
    tasks = load_tasks(path)
    assert [t.id for t in tasks] == ["seed_task_0", "seed_task_1"]
    assert tasks[1].instances == (Instance("Good morning", "Bonjour"),)
    assert tasks[1].is_classification is None


@pytest.mark.parametrize(
    ("content", "line", "message"),
    [
        ('{"instruction": "ok task here", "instances": []}\n{"instruction": "broken"\n', 2, "broken JSON"),
        ('{"id": 1, "instances": []}\n', 1, 'missing "instruction"'),
        ('{"instruction": 5}\n', 1, '"instruction" must be a string'),
        ('{"instruction": "   "}\n', 1, '"instruction" is empty'),
        ('{"instruction": "Do it now", "instances": {"input": ""}}\n', 1, '"instances" must be a list'),
        (
            '{"instruction": "Do it now", "instances": [{"input": 3, "output": "x"}]}\n',
            1,
            ".input must be a string",
        ),
        (
            '{"instruction": "Do it now", "instances": [{"input": "", "output": null}]}\n',
            1,
            ".output must be",
        ),
        ('{"instruction": "Do it now", "is_classification": "yes"}\n', 1, "is_classification"),
        (
            '{"id": "a", "instruction": "One task here"}\n\n{"id": "a", "instruction": "Two"}\n',
            3,
            "duplicate id",
        ),
        ("[1, 2]\n", 1, "expected a JSON object"),
        ('"just a string"\n', 1, "expected a JSON object"),
        ('[\n  {"instruction": "A task here"},\n  {"instruction": 7}\n]\n', 3, "must be a string"),
        ('[\n  {"instruction": "A task here"},\n', 3, "not closed"),
    ],
)
def test_errors_name_file_and_line(tmp_path: Path, content: str, line: int, message: str) -> None:
    path = write(tmp_path, content)
    with pytest.raises(InputError) as info:
        load_tasks(path)
    assert info.value.line == line
    assert message in str(info.value)
    assert str(info.value).startswith(f"{path}:{line}: ")
    assert "\n" not in str(info.value)


def test_empty_missing_and_binary_files(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="file is empty"):
        load_tasks(write(tmp_path, "\n  \n"))
    with pytest.raises(InputError, match="file not found"):
        load_tasks(tmp_path / "nope.jsonl")
    with pytest.raises(InputError, match="is a directory"):
        load_tasks(tmp_path)
    with pytest.raises(InputError, match="not valid UTF-8") as info:
        load_tasks(write(tmp_path, b'{"instruction": "ok here"}\n{"instruction": "caf\xe9"}\n'))
    assert info.value.line == 2
    with pytest.raises(InputError, match="no records"):
        load_tasks(write(tmp_path, "[]"))


def test_utf8_bom_and_line_separators(tmp_path: Path) -> None:
    path = write(tmp_path, '\ufeff{"instruction": "Split\u2028here please"}\n'.encode())
    assert load_tasks(path)[0].instruction == "Split\u2028here please"


def check_shipped(path: Path, language: str, min_tasks: int) -> None:
    tasks = load_tasks(path)
    assert len(tasks) >= min_tasks
    assert sum(bool(t.is_classification) for t in tasks) >= 0.2 * len(tasks)
    no_input = sum(all(not i.input for i in t.instances) for t in tasks)
    assert 0.25 * len(tasks) <= no_input <= 0.45 * len(tasks)
    assert all(t.instances and all(i.output.strip() for i in t.instances) for t in tasks)
    # Every shipped seed passes every filter against the others, or the first run would learn from junk.
    chain = FilterChain(language=language)  # type: ignore[arg-type]
    for t, rejection in zip(tasks, chain.offer_many([t.instruction for t in tasks]), strict=True):
        assert rejection is None, t.instruction


def test_shipped_english_seeds(seeds: Path) -> None:
    check_shipped(seeds, "en", 120)


def test_shipped_chinese_seeds(zh_seeds: Path) -> None:
    check_shipped(zh_seeds, "zh", 40)


def test_shipped_seeds_are_our_own(original_seeds: Path, zh_original_seeds: Path, seeds: Path, zh_seeds: Path) -> None:
    for ours, theirs in ((seeds, original_seeds), (zh_seeds, zh_original_seeds)):
        chain = FilterChain(filters=("rouge",), threshold=0.6)
        chain.add_reference(t.instruction for t in load_tasks(theirs))
        copied = [t.instruction for t in load_tasks(ours) if chain.check(t.instruction) is not None]
        assert copied == []


def test_validate_summary(original_seeds: Path) -> None:
    summary = validate_seeds(original_seeds)
    assert (summary.tasks, summary.classification, summary.without_input) == (175, 26, 50)
