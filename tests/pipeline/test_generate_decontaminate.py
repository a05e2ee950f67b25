"""`generate --decontaminate`: a candidate that reproduces a benchmark item is rejected before any classify or
instances request is sent for it; run.json records the benchmarks' hashes and a resume with other ones is
refused; stats and the dataset card report it."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from selfinstruct.cli.app import cli
from tests.servers import FakeOpenAIServer

Run = Callable[..., tuple[int, str, str]]


def lines(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.fixture
def planted(tmp_path: Path, server: FakeOpenAIServer, run: Run) -> tuple[Path, list[str]]:
    """A benchmark made of the first three tasks a run without it accepts (each was classified and given
    instances there: their instructions appear in those prompts)."""
    code, _, stderr = run(server, tmp_path / "plain", "-n", "8")
    assert code == 0, stderr
    first = [str(t["instruction"]) for t in lines(tmp_path / "plain" / "tasks.jsonl")[:3]]
    assert all(any(text in r.prompt for r in server.requests) for text in first)
    bench = tmp_path / "evalset.jsonl"
    bench.write_text("".join(json.dumps({"id": f"e{k}", "prompt": t}) + "\n" for k, t in enumerate(first)))
    server.reset()
    return bench, first


def test_contaminated_candidates_are_rejected_before_any_request_about_them(
    tmp_path: Path, server: FakeOpenAIServer, run: Run, planted: tuple[Path, list[str]]
) -> None:
    bench, first = planted
    out = tmp_path / "run"
    code, stdout, stderr = run(server, out, "-n", "8", "--decontaminate", str(bench))
    assert code == 0, stderr
    assert "filter:contaminated 3" in stdout
    pool = [str(t["instruction"]) for t in lines(out / "tasks.jsonl")]
    assert len(pool) == 8 and not set(first) & set(pool)
    rejected = [r for r in lines(out / "rejected.jsonl") if r["reason"] == "contaminated"]
    assert [(r["stage"], r["instruction"], r["similar_to"]) for r in rejected] == [("filter", t, t) for t in first]
    assert [r["contamination"]["item"] for r in rejected] == ["e0", "e1", "e2"]  # type: ignore[index]
    # No classify or instances prompt (nor a later demonstration) ever carried a contaminated instruction.
    assert not [r.path for r in server.requests for text in first if text in r.prompt]
    run_json = json.loads((out / "run.json").read_text())
    assert list(run_json["settings"]["decontaminate"]) == ["evalset"]
    assert run_json["decontamination"][0]["items"] == 3


def test_a_resume_with_other_benchmarks_or_none_is_refused(
    tmp_path: Path, server: FakeOpenAIServer, run: Run, planted: tuple[Path, list[str]]
) -> None:
    bench, _ = planted
    out = tmp_path / "run"
    assert run(server, out, "-n", "8", "--decontaminate", str(bench))[0] == 0
    before = (out / "tasks.jsonl").read_bytes()
    other = tmp_path / "other.jsonl"
    other.write_text(json.dumps({"prompt": "Some other benchmark item entirely."}) + "\n")
    edited = tmp_path / "edited" / "evalset.jsonl"
    edited.parent.mkdir()
    edited.write_text(bench.read_text() + json.dumps({"prompt": "One more item."}) + "\n")
    for args in ([], ["--decontaminate", str(other)], ["--decontaminate", str(edited)]):
        code, _, stderr = run(server, out, "-n", "10", *args)
        assert code == 2 and ("decontaminate.evalset" in stderr or "decontaminate.other" in stderr), stderr
        assert (out / "tasks.jsonl").read_bytes() == before
    # The same benchmark, moved: its content is what counts.
    moved = tmp_path / "moved" / "evalset.jsonl"
    moved.parent.mkdir()
    moved.write_text(bench.read_text())
    code, _, stderr = run(server, out, "-n", "10", "--decontaminate", str(moved))
    assert code == 0, stderr


def test_a_run_without_benchmarks_refuses_a_resume_that_adds_one(
    tmp_path: Path, server: FakeOpenAIServer, run: Run, planted: tuple[Path, list[str]]
) -> None:
    bench, _ = planted
    code, _, stderr = run(server, tmp_path / "plain", "-n", "10", "--decontaminate", str(bench))
    assert code == 2 and "decontaminate.evalset=null" in stderr


def test_a_bad_benchmark_exits_2_before_any_request(tmp_path: Path, server: FakeOpenAIServer, run: Run) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "no known field"}\n')
    code, _, stderr = run(server, tmp_path / "run", "--decontaminate", str(bad))
    assert code == 2 and "bad.jsonl:1: no question/prompt/problem/instruction/input field" in stderr
    assert not server.requests and not (tmp_path / "run").exists()


def test_stats_and_the_dataset_card_report_the_benchmarks(
    tmp_path: Path, server: FakeOpenAIServer, run: Run, planted: tuple[Path, list[str]]
) -> None:
    bench, _ = planted
    out = tmp_path / "run"
    assert run(server, out, "-n", "8", "--decontaminate", str(bench))[0] == 0
    stats = CliRunner().invoke(cli, ["stats", str(out), "--json", "--no-verbs"])
    assert stats.exit_code == 0, stats.stderr
    (row,) = json.loads(stats.stdout)["contamination"]
    assert (row["name"], row["items"], row["removed"], row["threshold"], row["n"]) == ("evalset", 3, 3, 0.5, 8)
    assert row["checked"] >= 8 + 3
    pytest.importorskip("pyarrow")
    card = CliRunner().invoke(cli, ["export", str(out), "--format", "hf", "--out", str(tmp_path / "hf")])
    assert card.exit_code == 0, card.stderr
    readme = (tmp_path / "hf" / "README.md").read_text()
    assert "## Decontamination" in readme and f"| evalset | 3 | {row['checked']} | 3 | 0.5 | 8 |" in readme


def test_the_dry_run_refuses_a_bad_benchmark_too(tmp_path: Path, server: FakeOpenAIServer, run: Run) -> None:
    code, _, stderr = run(server, tmp_path / "run", "--dry-run", "--decontaminate", str(tmp_path / "nope.csv"))
    assert code == 2 and "nope.csv: file not found" in stderr and not server.requests
