"""`selfinstruct audit` against the loopback fake server with a scripted judge, and `filter --min-score`.

The scripted judge answers each instance in a style fixed by its task's number: JSON (some in code fences),
plain labelled lines, malformed on even request seeds (so the retry with another seed may heal it), always
malformed, or a refusal. Its verdict is a pure function of the task and the instance (scores 0-5 in halves),
so every expectation is computed here.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from selfinstruct.audit.journal import read_journal
from selfinstruct.audit.scores import audit_scores, keep_min_score
from selfinstruct.audit.summary import wilson
from selfinstruct.cli.app import cli
from selfinstruct.engine.seeding import derive_seed
from selfinstruct.io.records import Record
from selfinstruct.io.seeds import task_from_record
from tests.servers import (
    FakeOpenAIServer,
    Fault,
    StartServer,
    expected,
    instance_asked,
    journal_lines,
    keys_of,
    make_pool,
    primary,
)

KEY = "sk-test-audit"


def test_200_tasks_every_instance_judged_or_unreadable_and_the_table_adds_up(
    tmp_path: Path, server: FakeOpenAIServer, run_audit: Callable[..., tuple[int, str, str]]
) -> None:
    run_dir = tmp_path / "run"
    tasks = make_pool(run_dir / "tasks.jsonl", 200)
    code, stdout, stderr = run_audit(server, run_dir, "--concurrency", "16")
    assert code == 0, stderr
    lines = journal_lines(run_dir / "audit.jsonl")
    # Issue 21 #9: every instance of every task is judged on its own, each exactly once.
    assert sorted((r["task_id"], r["instance"]) for r in lines) == sorted(keys_of(tasks))
    sizes = {t["id"]: len(t["instances"]) for t in tasks}
    for rec in lines:
        number = int(rec["task_id"].rsplit("_", 1)[1])
        want = expected(number, rec["task_id"], rec["instance"])
        if want is None:
            assert rec["status"] == "unreadable" and rec["why"] and "score" not in rec
            assert rec["attempts"] == 2  # retried once, then given up, never guessed
        else:
            assert rec["status"] == "judged"
            assert rec["answers"] == {k: want[k] for k in ("valid_instruction", "appropriate_input", "correct_output")}
            assert (rec["score"], rec["reason"]) == (want["score"], want["reason"])
        assert rec["judge_model"] == "fake-model" and rec["seed"] == 0 and len(rec["raw"]) <= 600
        assert len(rec["instance_sha256"]) == 16
    assert any(r.get("score") == 4.5 for r in lines)  # AlpaGasus's threshold is a score the judge can give
    summary = json.loads((run_dir / "audit_summary.json").read_text())
    # The paper's table: one instance per task, the one chosen with the seed.
    table = [r for r in lines if r["instance"] == primary(r["task_id"], sizes[r["task_id"]])]
    judged = [r for r in table if r["status"] == "judged"]
    assert summary["audited"] == 200 == summary["judged"] + summary["unreadable"] + summary["pending"]
    assert summary["pending"] == 0 and summary["judged"] == len(judged)
    assert sum(summary["unreadable_reasons"].values()) == summary["unreadable"]
    assert summary["unreadable_reasons"]["refusal"] == 20
    instances = summary["instances"]
    assert instances == {"audited": len(lines), "judged": sum(1 for r in lines if r["status"] == "judged"),
                         "unreadable": sum(1 for r in lines if r["status"] == "unreadable"), "pending": 0}  # fmt: skip
    assert sum(summary["score"]["distribution"].values()) == instances["judged"]
    assert summary["score"]["distribution"]["4.5"] == sum(1 for r in lines if r.get("score") == 4.5)
    for row in ("valid_instruction", "appropriate_input", "correct_output"):
        yes = sum(1 for r in judged if r["answers"][row])
        q = summary["questions"][row]
        assert (q["yes"], q["of"]) == (yes, len(judged))
        assert q["ci95"] == [round(x, 4) for x in wilson(yes, len(judged))]
    all_valid = sum(1 for r in judged if all(r["answers"].values()))
    assert summary["questions"]["all_valid"]["yes"] == all_valid
    assert summary["questions"]["all_valid"]["paper"] == 0.54
    # The printed table: our figures beside the paper's, and the counts that add up.
    assert "valid instruction" in stdout and "92%" in stdout and "79%" in stdout and "58%" in stdout
    assert "54%" in stdout and "95% CI" in stdout
    assert f"judged {summary['judged']} + unreadable {summary['unreadable']}" in stdout and "= 200 audited" in stdout
    assert f"= {len(lines)}\n" in stdout and "not a real judge" not in stdout
    # One request per readable instance, two for unreadable ones, each with its own derived seed.
    assert len(server.requests) == sum(r["attempts"] for r in lines)
    retries = [r for r in server.requests if r.body["temperature"] != 0]
    assert len(retries) == sum(1 for r in lines if r["attempts"] == 2)
    assert all(r.body["temperature"] == 0.7 for r in retries)
    by_seed = {r.body["seed"] for r in server.requests}
    assert len(by_seed) == len(server.requests)
    assert derive_seed(0, "audit", "machine_task_0", 0, 0) in by_seed


def _kept(tasks: list[dict[str, Any]], scores: dict[tuple[str, int], float], x: float) -> list[dict[str, Any]]:
    """The records `filter --min-score x` must write: each task with only its instances scored x or more."""
    out = []
    for t in tasks:
        kept = [inst for k, inst in enumerate(t["instances"]) if scores.get((t["id"], k), -1) >= x]
        if kept:
            out.append({**t, "instances": kept})
    return out


def test_filter_min_score_keeps_exactly_the_instances_scored_at_least_x(
    tmp_path: Path, server: FakeOpenAIServer, run_audit: Callable[..., tuple[int, str, str]]
) -> None:
    run_dir = tmp_path / "run"
    tasks = make_pool(run_dir / "tasks.jsonl", 200)
    assert run_audit(server, run_dir)[0] == 0
    scores = audit_scores(run_dir / "audit.jsonl")
    total = len(keys_of(tasks))
    for x in (0, 3.5, 4.5, 5):
        out = tmp_path / f"kept_{x}.jsonl"
        result = CliRunner().invoke(cli, ["filter", str(run_dir / "tasks.jsonl"), "--min-score", str(x), "--out",
                                          str(out), "-q", "--json"])  # fmt: skip
        assert result.exit_code == 0, result.stderr
        want = _kept(tasks, scores, x)
        assert journal_lines(out) == want  # in order, every other field unchanged, only the vouched instances
        report = json.loads(result.stdout)
        assert report["kept"] == len(want) and report["kept"] + report["dropped"] == 200
        kept_instances = sum(len(t["instances"]) for t in want)
        assert report["instances"]["kept"] == kept_instances
        assert kept_instances + sum(report["instances"]["dropped"].values()) == total
        assert report["instances"]["dropped"].get("unreadable", 0) == total - len(scores)
    selection = keep_min_score([task_from_record(Record(t, 1), Path("p"), 0) for t in tasks],
                               run_dir / "audit.jsonl", 4.5)  # fmt: skip
    assert selection.kept == sum(1 for s in scores.values() if s >= 4.5)


def test_min_score_drops_instances_the_audit_never_judged(
    tmp_path: Path, server: FakeOpenAIServer, run_audit: Callable[..., tuple[int, str, str]]
) -> None:
    """Issue 21 #9: an audit that judged one instance per task (as before) vouches for that instance only; the
    others are dropped as never judged, and the summary says how many."""
    run_dir = tmp_path / "run"
    tasks = make_pool(run_dir / "tasks.jsonl", 30)
    assert run_audit(server, run_dir)[0] == 0
    journal = run_dir / "audit.jsonl"
    lines = journal_lines(journal)
    # An older journal: the table's instance of each task only, without instance hashes, integer 1-5 scores.
    sizes = {t["id"]: len(t["instances"]) for t in tasks}
    old = [{k: v for k, v in r.items() if k != "instance_sha256"} | ({"score": 5} if "score" in r else {})
           for r in lines if r["instance"] == primary(r["task_id"], sizes[r["task_id"]])]  # fmt: skip
    journal.write_text("".join(json.dumps(r) + "\n" for r in old), encoding="utf-8")
    out = tmp_path / "best.json"
    result = CliRunner().invoke(cli, ["export", str(run_dir), "--format", "alpaca", "--out", str(out),
                                      "--min-score", "4.5"])  # fmt: skip
    assert result.exit_code == 0, result.stderr
    judged = sum(1 for r in old if r["status"] == "judged")
    records = json.loads(out.read_text(encoding="utf-8"))
    assert len(records) == judged  # one instance per judged task, not all of its instances
    never = len(keys_of(tasks)) - len(old)
    assert f"kept {judged} of {len(keys_of(tasks))} pool instances" in result.stdout
    assert f"not_judged {never} (never judged by the audit)" in result.stdout
    filtered = CliRunner().invoke(cli, ["filter", str(run_dir / "tasks.jsonl"), "--min-score", "4.5", "--out",
                                        str(tmp_path / "f.jsonl"), "-q"])  # fmt: skip
    assert filtered.exit_code == 0, filtered.stderr
    assert f"kept {judged} of {len(keys_of(tasks))} instances" in filtered.stdout
    assert f"not_judged {never} (never judged by the audit)" in filtered.stdout
    assert sum(len(r["instances"]) for r in journal_lines(tmp_path / "f.jsonl")) == judged


def test_filter_min_score_text_summary_and_with_other_filters(
    tmp_path: Path, server: FakeOpenAIServer, run_audit: Callable[..., tuple[int, str, str]]
) -> None:
    run_dir = tmp_path / "run"
    make_pool(run_dir / "tasks.jsonl", 30)
    assert run_audit(server, run_dir, "--sample", "10")[0] == 0
    out = tmp_path / "kept.jsonl"
    result = CliRunner().invoke(cli, ["filter", str(run_dir / "tasks.jsonl"), "--min-score", "3", "--out", str(out),
                                      "--filters", "length", "-q"])  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert "audit: not_judged" in result.stdout and "kept " in result.stdout
    assert "20" in result.stdout.split("audit: not_judged", 1)[1].splitlines()[0]
    assert "per instance: kept " in result.stdout


def test_sample_and_instances_are_seeded_and_a_larger_sample_is_a_superset(
    tmp_path: Path, server: FakeOpenAIServer, run_audit: Callable[..., tuple[int, str, str]]
) -> None:
    pool = tmp_path / "pool.jsonl"
    make_pool(pool, 60)
    outs = {}
    for name, args in {"a": ("--sample", "20", "--seed", "3"), "b": ("--sample", "20", "--seed", "3")}.items():
        journal = tmp_path / f"{name}.jsonl"
        assert run_audit(server, pool, *args, "--out", str(journal))[0] == 0
        outs[name] = sorted(journal_lines(journal), key=lambda r: (r["task_id"], r["instance"]))
    assert outs["a"] == outs["b"]  # same sample, same instances, same verdicts
    assert len({r["task_id"] for r in outs["a"]}) == 20
    assert len({r["instance"] for r in outs["a"]}) > 1
    other = tmp_path / "other.jsonl"
    assert run_audit(server, pool, "--sample", "20", "--seed", "4", "--out", str(other))[0] == 0
    assert {r["task_id"] for r in journal_lines(other)} != {r["task_id"] for r in outs["a"]}
    # Growing the sample on the same journal asks only the new tasks.
    before = len(server.requests)
    journal = tmp_path / "a.jsonl"
    code, stdout, _ = run_audit(server, pool, "--sample", "30", "--seed", "3", "--out", str(journal))
    assert code == 0
    lines = journal_lines(journal)
    assert len({r["task_id"] for r in lines}) == 30
    assert {r["task_id"] for r in outs["a"]} <= {r["task_id"] for r in lines}
    new_prompts = [r.prompt for r in server.requests[before:]]
    assert not any(f"#{r['task_id'].rsplit('_', 1)[1]} " in p for r in outs["a"] for p in new_prompts)
    assert f"{len(outs['a'])} were already in" in stdout
    assert (tmp_path / "a_summary.json").is_file()


def test_a_file_source_writes_its_journal_next_to_it(
    tmp_path: Path, server: FakeOpenAIServer, run_audit: Callable[..., tuple[int, str, str]]
) -> None:
    pool = tmp_path / "pool.jsonl"
    tasks = make_pool(pool, 5)
    assert run_audit(server, pool)[0] == 0
    assert len(journal_lines(tmp_path / "pool.audit.jsonl")) == len(keys_of(tasks))
    assert json.loads((tmp_path / "pool.audit_summary.json").read_text())["audited"] == 5
    out = tmp_path / "kept.jsonl"
    result = CliRunner().invoke(cli, ["filter", str(pool), "--min-score", "1", "--out", str(out), "-q"])
    assert result.exit_code == 0, result.stderr


def test_transient_faults_are_retried_by_the_engine(
    tmp_path: Path, server: FakeOpenAIServer, run_audit: Callable[..., tuple[int, str, str]]
) -> None:
    pool = tmp_path / "pool.jsonl"
    tasks = make_pool(pool, 6)
    server.inject(Fault(status=503), Fault(status=429, retry_after=0.01), Fault(drop=True))
    code, _, stderr = run_audit(server, pool, "--concurrency", "1")
    assert code == 0, stderr
    assert len(journal_lines(tmp_path / "pool.audit.jsonl")) == len(keys_of(tasks))


def test_a_dead_judge_stops_with_one_line_and_keeps_the_journal(
    tmp_path: Path, server: FakeOpenAIServer, run_audit: Callable[..., tuple[int, str, str]]
) -> None:
    pool = tmp_path / "pool.jsonl"
    tasks = make_pool(pool, 6)
    server.inject_when(lambda r: "#4 " in r.prompt, Fault(status=401), times=1)
    code, _, stderr = run_audit(server, pool, "--concurrency", "1")
    assert code == 1 and "authentication failed (401)" in stderr and "Traceback" not in stderr
    done = journal_lines(tmp_path / "pool.audit.jsonl")
    assert [(r["task_id"], r["instance"]) for r in done] == keys_of(tasks[:4])
    summary = json.loads((tmp_path / "pool.audit_summary.json").read_text())
    assert summary["pending"] == 2 and summary["instances"]["pending"] == len(keys_of(tasks[4:]))
    assert run_audit(server, pool)[0] == 0
    assert len(journal_lines(tmp_path / "pool.audit.jsonl")) == len(keys_of(tasks))


def test_progress_without_a_terminal_logs_lines_with_the_engine_counters(
    tmp_path: Path, server: FakeOpenAIServer, judge_env: dict[str, str | None]
) -> None:
    """As generate: a log line (not a silent tqdm) when stderr is no terminal, with tokens and cost."""
    pool = tmp_path / "pool.jsonl"
    make_pool(pool, 30)
    argv = ["audit", str(pool), "--judge-base-url", server.url, "--judge-model", "fake-model"]
    argv += ["--price-input", "1", "--price-output", "2", "--sample", "10"]
    result = CliRunner().invoke(cli, argv, env={**judge_env, "OPENAI_API_KEY": server.api_key})
    assert result.exit_code == 0, result.stderr
    assert re.search(
        r"audit: 0/\d+ instances; 0 in flight, 0 requests, 0 retries, 0 unreadable, 0 tokens, \$0", result.stderr
    )
    first = len(journal_lines(tmp_path / "pool.audit.jsonl"))
    result = CliRunner().invoke(cli, [*argv, "--sample", "20"], env={**judge_env, "OPENAI_API_KEY": server.api_key})
    assert f"audit: {first}/" in result.stderr  # the journal's verdicts count from the start


def test_max_tokens_total_is_a_cap(
    tmp_path: Path, server: FakeOpenAIServer, run_audit: Callable[..., tuple[int, str, str]]
) -> None:
    pool = tmp_path / "pool.jsonl"
    total = len(keys_of(make_pool(pool, 20)))
    code, _, stderr = run_audit(server, pool, "--max-tokens-total", "3000", "--concurrency", "2")
    assert code == 3, stderr  # as generate: the budget stopped it before every instance was asked
    lines = journal_lines(tmp_path / "pool.audit.jsonl")
    assert 0 < len(lines) < total and "could overrun the token budget of 3,000" in stderr
    assert sum(r["prompt_tokens"] + r["completion_tokens"] for r in lines) <= 3000
    code, _, stderr = run_audit(server, pool, "--max-tokens-total", "100000", "--concurrency", "2")
    assert code == 0 and len(journal_lines(tmp_path / "pool.audit.jsonl")) == total  # a larger cap finishes it


@pytest.mark.parametrize("concurrency", ["1", "8"])
def test_max_cost_is_a_cap(
    tmp_path: Path, server: FakeOpenAIServer, concurrency: str, judge_env: dict[str, str | None]
) -> None:
    """--max-cost with the prices from the environment (as generate reads them), never passed."""
    pool = tmp_path / "pool.jsonl"
    total = len(keys_of(make_pool(pool, 30)))
    prices = {"SELFINSTRUCT_PRICE_INPUT": "2.5", "SELFINSTRUCT_PRICE_OUTPUT": "10"}
    argv = ["audit", str(pool), "--judge-base-url", server.url, "--judge-model", "fake-model", "-q"]
    result = CliRunner().invoke(
        cli,
        [*argv, "--max-cost", "0.01", "--concurrency", concurrency],
        env={**judge_env, "OPENAI_API_KEY": server.api_key, **prices},
    )
    assert result.exit_code == 3, result.stderr
    lines = journal_lines(tmp_path / "pool.audit.jsonl")
    spent = sum(r["prompt_tokens"] * 2.5 + r["completion_tokens"] * 10 for r in lines) / 1e6
    assert 0 < len(lines) < total and spent <= 0.01
    assert "could overrun the cost budget of $0.0100" in result.stderr and "$0." in result.stdout  # this run's cost


def test_batch_dry_run_counts_batch_prices(
    tmp_path: Path, server: FakeOpenAIServer, run_audit: Callable[..., tuple[int, str, str]]
) -> None:
    pool = tmp_path / "pool.jsonl"
    make_pool(pool, 10)
    dollars = []
    for extra in ([], ["--batch"], ["--batch", "--batch-discount", "0.25"]):
        # Prices high enough that the printed 4 decimals hold the ratio to 0.1%.
        code, stdout, stderr = run_audit(server, pool, "--dry-run", "--price-input", "100", "--price-output", "400",
                                         *extra)  # fmt: skip
        assert code == 0, stderr
        dollars.append(float(re.search(r"cost\s+\$([\d.]+)", stdout).group(1)))  # type: ignore[union-attr]
        assert ("(batch prices)" in stdout) == bool(extra)
    assert dollars[1] == pytest.approx(dollars[0] / 2, rel=1e-3) and dollars[2] == pytest.approx(
        dollars[0] / 4, rel=1e-3
    )
    code, _, stderr = run_audit(server, pool, "--dry-run", "--batch-discount", "0.25")
    assert code == 2 and "--batch-discount applies to --batch runs only" in stderr


def test_dry_run_counts_what_is_left_and_calls_nothing(
    tmp_path: Path, server: FakeOpenAIServer, run_audit: Callable[..., tuple[int, str, str]]
) -> None:
    pool = tmp_path / "pool.jsonl"
    total = len(keys_of(make_pool(pool, 12)))
    assert run_audit(server, pool, "--sample", "4")[0] == 0
    judged = len(journal_lines(tmp_path / "pool.audit.jsonl"))
    server.reset()
    code, stdout, stderr = run_audit(server, pool, "--dry-run", "--price-input", "0.15", "--price-output", "0.6")
    assert code == 0, stderr
    assert server.requests == []
    assert "===== judge prompt" in stdout and "Instruction:\nDo task #" in stdout
    assert re.search(rf"requests\s+{total - judged}\b", stdout) and f"{judged} already in the journal)" in stdout
    assert f"the {total} instances of 12 audited tasks" in stdout and "$" in stdout
    assert "not a real judge" not in stdout


def test_the_dry_run_prints_the_worst_case_as_respond_and_prefer_do(
    tmp_path: Path, server: FakeOpenAIServer, run_audit: Callable[..., tuple[int, str, str]]
) -> None:
    """One renderer for the three dry runs (cli/estimates.py): the audit's now gives the worst case too, each
    instance asked twice (an unreadable reply's retry) at the judge's max_tokens, what its hard budget reserves."""
    pool = tmp_path / "pool.jsonl"
    total = len(keys_of(make_pool(pool, 8)))
    code, stdout, stderr = run_audit(server, pool, "--dry-run", "--price-input", "100", "--price-output", "400")
    assert code == 0, stderr
    assert f"===== estimate: the {total} instances of 8 audited tasks, judged by" in stdout
    assert re.search(rf"requests\s+{total} \({total} instances, 0 already in the journal\)", stdout)
    prompt = int(re.search(r"prompt tokens\s+([\d,]+)", stdout).group(1).replace(",", ""))  # type: ignore[union-attr]
    worst = re.search(r"completion tokens\s+([\d,]+) \(about; at most ([\d,]+)\)", stdout)
    assert worst is not None and int(worst.group(2).replace(",", "")) == 2 * total * 256
    cost = re.search(
        r"cost\s+\$([\d.]+) \(at \$100 / \$400 per 1M prompt / completion tokens; at most \$([\d.]+)\)", stdout
    )
    assert cost is not None
    assert float(cost.group(2)) == pytest.approx((2 * prompt * 100 + 2 * total * 256 * 400) / 1e6, abs=1e-4)
    assert server.requests == []


def test_the_embedded_judge_says_it_is_no_judge_in_a_dry_run(tmp_path: Path, judge_env: dict[str, str | None]) -> None:
    pool = tmp_path / "pool.jsonl"
    make_pool(pool, 3)
    result = CliRunner().invoke(cli, ["audit", str(pool), "--dry-run"], env=judge_env)
    assert result.exit_code == 0, result.stderr
    assert "A 135M model is not a real judge" in result.stdout
    assert "cost: give --price-input" in result.stdout
    assert not (tmp_path / "pool.audit.jsonl").exists()


def test_chinese_template(
    tmp_path: Path, server: FakeOpenAIServer, run_audit: Callable[..., tuple[int, str, str]]
) -> None:
    pool = tmp_path / "pool.jsonl"
    make_pool(pool, 2)
    code, _, stderr = run_audit(server, pool, "--language", "zh")
    # The scripted judge finds the task only in English prompts, so no verdict is readable: "judge unusable".
    assert code == 5 and "judge unusable" in stderr, stderr
    assert all("只回复一个 JSON 对象" in r.prompt for r in server.requests)
    assert any("输入：\n（无）" in r.prompt for r in server.requests)


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("setup", "args", "message"),
    [
        (lambda d: d / "missing", [], "not found"),
        (lambda d: (d / "empty_run").mkdir() or d / "empty_run", [], "no tasks.jsonl here"),
        (lambda d: _write(d / "bad.jsonl", '{"instruction": "x"\n'), [], "bad.jsonl:1: broken JSON"),
        (lambda d: _write(d / "none.jsonl", '{"instruction": "Write a poem."}\n'), [], "no task with an instance"),
        (lambda d: _write(d / "p.jsonl", '{"instruction": "Write.", "output": "x"}\n'), ["--out", "."],
         "is a directory"),
        (lambda d: _write(d / "p.jsonl", '{"instruction": "Write.", "output": "x"}\n'), ["--sample", "0"],
         "Invalid value for '--sample'"),
        (lambda d: _write(d / "p.jsonl", '{"instruction": "Write.", "output": "x"}\n'), ["--prompts", "nope"],
         "--prompts must be a directory"),
        (lambda d: _write(d / "p.jsonl", '{"instruction": "Write.", "output": "x"}\n'),
         ["--judge-base-url", "localhost:8000"], "--judge-base-url localhost:8000: not an http(s) URL"),
        (lambda d: _write(d / "p.jsonl", '{"instruction": "Write.", "output": "x"}\n'), ["--max-cost", "1"],
         "--max-cost needs the model's prices"),
    ],
)  # fmt: skip
def test_bad_input_exits_2_with_one_line_and_writes_nothing(
    tmp_path: Path,
    server: FakeOpenAIServer,
    setup: Any,
    args: list[str],
    message: str,
    run_audit: Callable[..., tuple[int, str, str]],
) -> None:
    source = setup(tmp_path)
    before = sorted(p.name for p in tmp_path.iterdir())
    code, _, stderr = run_audit(server, source, *[a if a != "." else str(tmp_path) for a in args])
    assert code == 2, stderr
    assert message in stderr and len(stderr.strip().splitlines()) == 1, stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == before and server.requests == []


def test_a_journal_of_another_judge_or_pool_is_refused(
    tmp_path: Path,
    server: FakeOpenAIServer,
    run_audit: Callable[..., tuple[int, str, str]],
    judge_env: dict[str, str | None],
) -> None:
    pool = tmp_path / "pool.jsonl"
    tasks = make_pool(pool, 4)
    assert run_audit(server, pool)[0] == 0
    code, _, stderr = run_audit(server, pool, "--seed", "9")
    assert code == 2 and "judged with seed=0, not 9" in stderr
    server.models.append("other-model")
    argv = ["audit", str(pool), "--judge-base-url", server.url, "--judge-model", "other-model", "-q"]
    result = CliRunner().invoke(cli, argv, env={**judge_env, "OPENAI_API_KEY": server.api_key})
    assert result.exit_code == 2 and 'judge_model="fake-model"' in result.stderr
    tasks[1]["instruction"] = "Do task #1 about something else."
    pool.write_text("".join(json.dumps(t) + "\n" for t in tasks), encoding="utf-8")
    code, _, stderr = run_audit(server, pool)
    assert code == 2 and "another pool" in stderr
    result = CliRunner().invoke(cli, ["filter", str(pool), "--min-score", "1", "--out", str(tmp_path / "k.jsonl")])
    assert result.exit_code == 2 and "another pool" in result.stderr and not (tmp_path / "k.jsonl").exists()


def test_a_journal_of_other_instances_is_refused(
    tmp_path: Path, server: FakeOpenAIServer, run_audit: Callable[..., tuple[int, str, str]]
) -> None:
    """A score belongs to the instance text it was given for: a regenerated output is not vouched for."""
    pool = tmp_path / "pool.jsonl"
    tasks = make_pool(pool, 4)
    assert run_audit(server, pool)[0] == 0
    tasks[2]["instances"][1]["output"] = "output 2.1, rewritten"
    pool.write_text("".join(json.dumps(t) + "\n" for t in tasks), encoding="utf-8")
    code, _, stderr = run_audit(server, pool)
    assert code == 2 and "instance 1 of task 'machine_task_2' was judged with another input or output" in stderr
    result = CliRunner().invoke(cli, ["filter", str(pool), "--min-score", "1", "--out", str(tmp_path / "k.jsonl")])
    assert result.exit_code == 2 and "another pool" in result.stderr and not (tmp_path / "k.jsonl").exists()


def test_filter_min_score_input_errors(tmp_path: Path) -> None:
    pool = tmp_path / "pool.jsonl"
    make_pool(pool, 3)
    out = tmp_path / "k.jsonl"
    result = CliRunner().invoke(cli, ["filter", str(pool), "--min-score", "4", "--out", str(out)])
    assert result.exit_code == 2 and "no audit journal here" in result.stderr and not out.exists()
    result = CliRunner().invoke(cli, ["filter", str(pool), "--audit", "x.jsonl", "--out", str(out)])
    assert result.exit_code == 2 and "pass --min-score too" in result.stderr
    journal = _write(tmp_path / "j.jsonl", '{"task_id": "a"}\n{"task_id": "b"}\n')
    result = CliRunner().invoke(cli, ["filter", str(pool), "--min-score", "4", "--audit", str(journal), "--out",
                                      str(out)])  # fmt: skip
    assert result.exit_code == 2 and "j.jsonl:1:" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    result = CliRunner().invoke(cli, ["filter", str(pool), "--min-score", "9", "--out", str(out)])
    assert result.exit_code == 2 and "--min-score" in result.stderr


def test_torn_last_line_is_cut_and_that_task_asked_again(
    tmp_path: Path, server: FakeOpenAIServer, run_audit: Callable[..., tuple[int, str, str]]
) -> None:
    pool = tmp_path / "pool.jsonl"
    tasks = make_pool(pool, 5)
    assert run_audit(server, pool)[0] == 0
    journal = tmp_path / "pool.audit.jsonl"
    data = journal.read_bytes()
    journal.write_bytes(data[: -len(data.splitlines()[-1]) // 2 - 1])  # half of the last line, no newline
    assert len(audit_scores(journal)) < len(keys_of(tasks))  # the reader skips the torn line, and writes nothing
    server.reset()
    code, _, stderr = run_audit(server, pool)
    assert code == 0 and "removed a torn last line" in stderr
    assert server.requests == []  # judged again from the replies in pool.audit_responses.jsonl: paid once
    assert sorted((r["task_id"], r["instance"]) for r in journal_lines(journal)) == sorted(keys_of(tasks))


def _audit_cli(pool: Path, url: str, concurrency: int) -> list[str]:
    return [sys.executable, "-m", "selfinstruct", "audit", str(pool), "--judge-base-url", url, "--judge-model",
            "fake-model", "-q", "--concurrency", str(concurrency)]  # fmt: skip


@pytest.mark.parametrize("kill_after", [0.6, 1.2])
def test_kill_9_then_resume_asks_nothing_journaled_again(
    tmp_path: Path, kill_after: float, judge_env: dict[str, str | None], judge_server: StartServer
) -> None:
    env = {**os.environ, "OPENAI_API_KEY": KEY}
    for name in judge_env:
        if name != "OPENAI_API_KEY":
            env.pop(name, None)
    with judge_server(api_key=KEY, latency=0.05) as srv:  # 200 tasks take >= 2.5 s
        reference = tmp_path / "reference" / "tasks.jsonl"
        make_pool(reference, 200)
        subprocess.run(_audit_cli(reference, srv.url, 4), env=env, check=True, timeout=120)
        pool = tmp_path / "killed" / "tasks.jsonl"
        make_pool(pool, 200)
        proc = subprocess.Popen(_audit_cli(pool, srv.url, 4), env=env, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        journal = pool.parent / "audit.jsonl"
        while (not journal.exists() or journal.stat().st_size == 0) and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(kill_after)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        journaled = set(read_journal(journal))  # what survived the kill (a torn last line is not in it)
        assert 0 < len(journaled) < 200, "kill the audit mid-run"
        mark = len(srv.requests)
        subprocess.run(_audit_cli(pool, srv.url, 8), env=env, check=True, timeout=120)
        asked_again = {key for r in srv.requests[mark:] if (key := instance_asked(r.prompt))}
    assert asked_again and not asked_again & journaled
    final = sorted(journal_lines(pool.parent / "audit.jsonl"), key=lambda r: (r["task_id"], r["instance"]))
    want = sorted(journal_lines(reference.parent / "audit.jsonl"), key=lambda r: (r["task_id"], r["instance"]))
    assert [(r["task_id"], r["instance"]) for r in final] == [(r["task_id"], r["instance"]) for r in want]  # once
    assert final == want  # the same verdicts, tokens and replies as an audit never killed
    summary = json.loads((pool.parent / "audit_summary.json").read_text())
    reference_summary = json.loads((reference.parent / "audit_summary.json").read_text())
    for key in ("questions", "score", "judged", "unreadable", "unreadable_reasons"):
        assert summary[key] == reference_summary[key]


def test_json_summary_and_help(
    tmp_path: Path, server: FakeOpenAIServer, run_audit: Callable[..., tuple[int, str, str]]
) -> None:
    pool = tmp_path / "pool.jsonl"
    make_pool(pool, 3)
    code, stdout, stderr = run_audit(server, pool, "--json")
    assert code == 0, stderr
    summary = json.loads(stdout)
    assert summary == json.loads((tmp_path / "pool.audit_summary.json").read_text())
    assert summary["audited"] == 3 and summary["questions"]["valid_instruction"]["paper"] == 0.92
    result = CliRunner().invoke(cli, ["audit", "--help"])
    assert result.exit_code == 0 and "Example:" in result.stdout and "--min-score 4.5" in result.stdout
