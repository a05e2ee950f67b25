"""`decontaminate` on a file: clean records unchanged and in order, contaminated.jsonl with the evidence, the
per-benchmark summary; bad input exits 2 with one line and writes nothing; stats reports it."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from selfinstruct.cli.app import cli

BENCH = [
    {
        "id": "m1",
        "question": "A train leaves the station at 3 pm travelling at 60 miles per hour; when does it "
        "arrive 150 miles away?",
    },
    {"id": "m2", "question": "What is love?"},
    {"id": "z1", "question": "请把下面这段话翻译成英文，并保持原文的语气。"},
]
DATA = [
    {"instruction": "Write a haiku about the sea.", "instances": [{"input": "", "output": "..."}]},
    {
        "instruction": "Solve the problem.",
        "instances": [
            {
                "input": "A train leaves the station at 3 pm travelling "
                "at 60 miles per hour; when does it arrive 150 miles away?",
                "output": "5:30 pm",
            }
        ],
    },
    {"instruction": "what is love", "input": "", "output": "Baby don't hurt me."},
    {"instruction": "Explain what is love to a child who asks about their parents.", "output": "..."},
    {"instruction": "请把下面这段话翻译成英文并保持原文的语气", "output": "..."},
    {"instruction": "请把这首诗翻译成法文。", "output": "..."},
]


def _write(path: Path, rows: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def _lines(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["decontaminate", *args, "-q"])
    return result.exit_code, result.stdout, result.stderr


def test_contaminated_records_go_to_their_own_file_with_the_evidence(tmp_path: Path) -> None:
    data, bench = _write(tmp_path / "pool.jsonl", DATA), _write(tmp_path / "evalset.jsonl", BENCH)
    code, stdout, stderr = invoke(str(data), "--against", str(bench), "--out", str(tmp_path / "out"))
    assert code == 0, stderr
    clean = _lines(tmp_path / "out" / "clean.jsonl")
    assert clean == [DATA[0], DATA[3], DATA[5]]  # unchanged, in order
    dirty = _lines(tmp_path / "out" / "contaminated.jsonl")
    assert [(d["line"], d["item"], d["benchmark"]) for d in dirty] == [(2, "m1", "evalset"), (3, "m2", "evalset"),
                                                                       (5, "z1", "evalset")]  # fmt: skip
    assert dirty[0]["record"] == DATA[1] and dirty[0]["score"] == 1.0 and "150 miles away" in str(dirty[0]["span"])
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    (b,) = summary["benchmarks"]
    assert (b["name"], b["items"], b["checked"], b["removed"], b["threshold"], b["n"]) == ("evalset", 3, 6, 3, 0.5, 8)
    assert "removed 3 of 6 records" in stdout


def test_stats_of_the_clean_file_report_the_decontamination(tmp_path: Path) -> None:
    data, bench = _write(tmp_path / "pool.jsonl", DATA), _write(tmp_path / "evalset.jsonl", BENCH)
    assert invoke(str(data), "--against", str(bench), "--out", str(tmp_path / "out"))[0] == 0
    result = CliRunner().invoke(cli, ["stats", str(tmp_path / "out" / "clean.jsonl"), "--no-verbs"])
    assert result.exit_code == 0, result.stderr
    assert "evalset: 3 items, 6 checked, 3 removed (n=8, threshold 0.5" in result.stdout


def test_ngram_and_threshold_options_change_the_decision(tmp_path: Path) -> None:
    bench = _write(tmp_path / "b.jsonl", [{"prompt": "one two three four five six seven eight nine ten"}])
    data = _write(tmp_path / "d.jsonl", [{"instruction": "one two three four five six and more"}])
    assert invoke(str(data), "--against", str(bench), "--out", str(tmp_path / "a"))[0] == 0
    assert _lines(tmp_path / "a" / "contaminated.jsonl") == []  # no 8-gram shared
    assert invoke(str(data), "--against", str(bench), "--out", str(tmp_path / "b"), "--ngram", "4")[0] == 0
    assert len(_lines(tmp_path / "b" / "contaminated.jsonl")) == 1  # 6 of 10 tokens in shared 4-grams
    args = ("--ngram", "4", "--threshold", "0.6")
    assert invoke(str(data), "--against", str(bench), "--out", str(tmp_path / "c"), *args)[0] == 0
    assert _lines(tmp_path / "c" / "contaminated.jsonl") == []


def test_bad_inputs_exit_2_with_one_line_and_write_nothing(tmp_path: Path) -> None:
    data, bench = _write(tmp_path / "pool.jsonl", DATA), _write(tmp_path / "evalset.jsonl", BENCH)
    bad_data = _write(tmp_path / "bad.jsonl", [{"instruction": "ok"}, {"text": "no instruction"}])
    (tmp_path / "afile").write_text("x")
    cases = [
        ([str(data), "--against", str(tmp_path / "nope.jsonl")], "nope.jsonl: file not found"),
        ([str(data), "--against", str(bench), "--field", "prompt"], 'evalset.jsonl:1: no "prompt" field'),
        ([str(bad_data), "--against", str(bench)], 'bad.jsonl:2: "instruction" is missing'),
        ([str(tmp_path / "none.jsonl"), "--against", str(bench)], "none.jsonl: file not found"),
        ([str(data), "--against", str(bench), "--threshold", "1"], "--threshold"),
        ([str(data), "--against", str(bench), "--ngram", "0"], "--ngram"),
    ]
    for args, message in cases:
        code, _, stderr = invoke(*args, "--out", str(tmp_path / "out"))
        assert code == 2 and message in stderr and stderr.count("\n") == 1, (args, stderr)
        assert not (tmp_path / "out").exists()
    code, _, stderr = invoke(str(data), "--against", str(bench), "--out", str(tmp_path / "afile"))
    assert code == 2 and "is a file" in stderr


def test_library_call_returns_the_report(tmp_path: Path) -> None:
    import selfinstruct

    data, bench = _write(tmp_path / "pool.jsonl", DATA), _write(tmp_path / "evalset.jsonl", BENCH)
    report = selfinstruct.decontaminate(
        selfinstruct.DecontaminateSettings(input=data, against=(bench,), out=tmp_path / "o")
    )
    assert (report.total, report.removed) == (6, 3) and report.benchmarks[0]["removed"] == 3


def test_json_array_and_crlf_jsonl_inputs_give_the_same_clean_records(tmp_path: Path) -> None:
    bench = _write(tmp_path / "evalset.jsonl", BENCH)
    (tmp_path / "pool.json").write_text(json.dumps(DATA, ensure_ascii=False), encoding="utf-8")
    crlf = "\ufeff" + "".join(json.dumps(r, ensure_ascii=False) + "\r\n\r\n" for r in DATA)
    (tmp_path / "crlf.jsonl").write_bytes(crlf.encode("utf-8"))
    for name in ("pool.json", "crlf.jsonl"):
        out = tmp_path / f"out_{name}"
        assert invoke(str(tmp_path / name), "--against", str(bench), "--out", str(out))[0] == 0
        assert _lines(out / "clean.jsonl") == [DATA[0], DATA[3], DATA[5]], name
        assert [d["record"] for d in _lines(out / "contaminated.jsonl")] == [DATA[1], DATA[2], DATA[4]], name
