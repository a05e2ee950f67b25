"""Benchmark files in every supported format, the text-field detection, and one clear error per bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from selfinstruct.errors import InputError
from selfinstruct.io.benchmarks import read_benchmark

ROWS = [{"id": "q1", "question": "What is 2 + 2?", "answer": "4"},
        {"id": "q2", "question": "Name a prime number above 10.", "answer": "11"}]  # fmt: skip


def _jsonl(path: Path, rows: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_jsonl_detects_the_question_field_and_keeps_item_ids(tmp_path: Path) -> None:
    bench = read_benchmark(_jsonl(tmp_path / "gsm.jsonl", ROWS))
    assert bench.name == "gsm" and bench.fields == ("question",)
    assert bench.items == (("q1", "What is 2 + 2?"), ("q2", "Name a prime number above 10."))
    assert len(bench.sha256) == 64


def test_json_array_csv_and_parquet_read_alike(tmp_path: Path) -> None:
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    (tmp_path / "b.json").write_text(json.dumps(ROWS), encoding="utf-8")
    (tmp_path / "b.csv").write_text('id,question,answer\nq1,What is 2 + 2?,4\nq2,"Name a prime number above 10.",11\n',
                                    encoding="utf-8")  # fmt: skip
    pq.write_table(pa.Table.from_pylist(ROWS), tmp_path / "b.parquet")
    for name in ("b.json", "b.csv", "b.parquet"):
        assert read_benchmark(tmp_path / name).items == (
            ("q1", "What is 2 + 2?"),
            ("q2", "Name a prime number above 10."),
        ), name


def test_a_saved_hugging_face_dataset_folder_is_read_its_test_split(tmp_path: Path) -> None:
    datasets = pytest.importorskip("datasets")
    train = datasets.Dataset.from_list([{"prompt": "train only"}])
    test = datasets.Dataset.from_list([{"prompt": "Write a limerick about tea."}])
    dd = datasets.DatasetDict({"train": train, "test": test})
    dd.save_to_disk(str(tmp_path / "ifeval"))
    bench = read_benchmark(tmp_path / "ifeval")
    assert (
        bench.name == "ifeval"
        and bench.fields == ("prompt",)
        and bench.items == (("1", "Write a limerick about tea."),)
    )


def test_field_option_joins_several_fields(tmp_path: Path) -> None:
    rows = [{"passage": "The sky is blue.", "question": "What colour is the sky?"}]
    bench = read_benchmark(_jsonl(tmp_path / "drop.jsonl", rows), ["passage", "question"])
    assert bench.items == (("1", "The sky is blue.\nWhat colour is the sky?"),)


def test_null_texts_are_skipped(tmp_path: Path) -> None:
    bench = read_benchmark(_jsonl(tmp_path / "b.jsonl", [{"prompt": None}, {"prompt": "Tell a joke about cats."}]))
    assert bench.items == (("2", "Tell a joke about cats."),)


@pytest.mark.parametrize(
    ("name", "content", "fields", "message"),
    [
        ("missing.jsonl", None, (), "missing.jsonl: file not found"),
        ("b.txt", "hello", (), "unknown benchmark format '.txt'"),
        ("b.jsonl", '{"text": "x"}\n', (), "b.jsonl:1: no question/prompt/problem/instruction/input field"),
        ("b.jsonl", '{"question": "x"}\n{"q": "y"}\n', (), 'b.jsonl:2: no "question" field'),
        ("b.jsonl", '{"question": ["x"]}\n', (), '"question" must be text, found list'),
        ("b.jsonl", '{"question": "x"}\n', ("prompt",), 'no "prompt" field'),
        ("b.jsonl", '{"question": ""}\n', (), "no benchmark items with text"),
        ("b.jsonl", "{not json\n", (), "b.jsonl:1:"),
        ("b.parquet", "not parquet", (), "not a readable Parquet file"),
    ],
)
def test_bad_benchmark_inputs_are_one_line_errors(
    tmp_path: Path, name: str, content: str | None, fields: tuple[str, ...], message: str
) -> None:
    if name.endswith(".parquet"):
        pytest.importorskip("pyarrow")
    path = tmp_path / name
    if content is not None:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(InputError, match=message.replace("[", r"\[").replace("(", r"\(")) as err:
        read_benchmark(path, fields)
    assert "\n" not in str(err.value)


def test_a_folder_that_is_no_saved_dataset_is_refused(tmp_path: Path) -> None:
    (tmp_path / "some").mkdir()
    with pytest.raises(InputError, match="not a saved Hugging Face dataset"):
        read_benchmark(tmp_path / "some")
