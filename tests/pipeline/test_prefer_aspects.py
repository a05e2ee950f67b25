"""`prefer --rubric` repeated (or `--rubric all`): each answer rated on every aspect in its own request, as
UltraFeedback rated helpfulness, honesty, instruction following and truthfulness separately, and ranked by the
mean; an answer with an unreadable aspect is not ranked and is counted.

The scripted judge scores an aspect by `aspect_quality(text, aspect)` and garbles every verdict on task numbers
with remainder 5 mod 7, and the honesty verdicts on task numbers with remainder 4 mod 11: so some answers miss
exactly one aspect. Every expectation is computed here from those rules, independently of the code under test.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from selfinstruct.cli.app import cli
from tests.servers import answered_by_question, aspect_quality, garbled, journal_lines

ASPECTS = ("helpfulness", "honesty", "instruction_following", "truthfulness")
PreferCli = Any


def number(task_id: str) -> int:
    return int(task_id.rsplit("_", 1)[1])


def ranked(r: dict[str, Any], aspects: tuple[str, ...]) -> bool:
    return not any(garbled(number(r["task_id"]), a) for a in aspects)


def mean(r: dict[str, Any], aspects: tuple[str, ...]) -> float:
    return sum(aspect_quality(r["output"], a) for a in aspects) / len(aspects)


def expected_pairs(run_dir: Path, aspects: tuple[str, ...], rule: str, margin: float) -> list[tuple[Any, ...]]:
    want = []
    for (task_id, instance), rs in answered_by_question(run_dir).items():
        scored = [(mean(r, aspects), r) for r in rs if ranked(r, aspects)]
        if len(rs) < 2 or len(scored) < 2:
            continue
        top = max(s for s, _ in scored)
        best = [r for s, r in scored if s == top]
        below = [(s, r) for s, r in scored if top - s >= margin]
        if len(best) != 1 or not below:
            continue
        if rule == "best-worst":
            below = [next((s, r) for s, r in below if s == min(x for x, _ in below))]
        want += [(task_id, instance, best[0]["model"], best[0]["sample"], r["model"], r["sample"]) for _, r in below]
    return want


@pytest.mark.parametrize(("rubrics", "aspects"), [(["all"], ASPECTS), (["honesty", "helpfulness"], ASPECTS[1::-1])])
def test_every_aspect_rated_and_pairs_on_the_mean(
    answers: Path, prefer_cli: PreferCli, rubrics: list[str], aspects: tuple[str, ...]
) -> None:
    flags = [f for r in rubrics for f in ("--rubric", r)]
    code, stdout, stderr = prefer_cli(answers, *flags, "--pairs", "best-each", "--margin", "1", "--concurrency", "8")
    assert code == 0, stderr
    answered = [r for rs in answered_by_question(answers).values() for r in rs]
    judgments = journal_lines(answers / "judgments.jsonl")
    # One verdict per answer and aspect, in the answers' order, then the aspects' order.
    assert [(j["task_id"], j["instance"], j["model"], j["sample"], j["aspect"]) for j in judgments] == [
        (r["task_id"], r["instance"], r["model"], r["sample"], a) for r in answered for a in aspects
    ]
    for j, (r, a) in zip(judgments, [(r, a) for r in answered for a in aspects], strict=True):
        if garbled(number(j["task_id"]), a):
            assert j["status"] == "unreadable" and "score" not in j
        else:
            assert (j["status"], j["score"]) == ("judged", aspect_quality(r["output"], a))
    prefs = journal_lines(answers / "preferences.jsonl")
    got = [(p["task_id"], p["instance"], p["chosen"]["model"], p["chosen"]["sample"], p["rejected"]["model"],
            p["rejected"]["sample"]) for p in prefs]  # fmt: skip
    assert got == expected_pairs(answers, aspects, "best-each", 1.0) != []
    by_id = {(r["task_id"], r["instance"], r["model"], r["sample"]): r for r in answered}
    for p in prefs:  # each side keeps its score per aspect, and the mean the rules used
        for side in ("chosen", "rejected"):
            r = by_id[(p["task_id"], p["instance"], p[side]["model"], p[side]["sample"])]
            assert p[side]["aspects"] == {a: aspect_quality(r["output"], a) for a in aspects}
            assert p[side]["score"] == round(mean(r, aspects), 4)
        assert p["chosen"]["score"] - p["rejected"]["score"] >= 1
    summary = json.loads((answers / "prefer.json").read_text())
    assert summary["rubric"] == list(aspects)
    unranked = [r for r in answered if not ranked(r, aspects)]
    one_missing = [r for r in unranked if not garbled(number(r["task_id"]))]  # honesty only: 4 mod 11
    assert one_missing and summary["ranking"] == {
        "ranked": len(answered) - len(unranked),
        "unranked": len(unranked),
        "unranked_reasons": {"an aspect unreadable": len(unranked)},
    }
    for a in aspects:
        for model in ("strong", "weak"):
            mine = [r for r in answered if r["model"] == model]
            read = [aspect_quality(r["output"], a) for r in mine if not garbled(number(r["task_id"]), a)]
            figures = summary["aspects"][a][model]
            assert (figures["judged"], figures["unreadable"]) == (len(read), len(mine) - len(read))
            assert figures["mean"] == round(sum(read) / len(read), 3)
    assert summary["verdicts"]["judged"] + summary["verdicts"]["unreadable"] == len(answered) * len(aspects)
    assert (
        f"answers not ranked: an aspect unreadable {len(unranked)}" in stdout and "    honesty: strong mean" in stdout
    )


def test_stats_and_the_hf_dpo_card_show_each_aspect(answers: Path, prefer_cli: PreferCli, tmp_path: Path) -> None:
    assert prefer_cli(answers, "--rubric", "all")[0] == 0
    summary = json.loads((answers / "prefer.json").read_text())
    result = CliRunner().invoke(cli, ["stats", str(answers), "--no-verbs", "--sample", "0", "--json"])
    assert result.exit_code == 0, result.stderr
    got = json.loads(result.stdout)["preferences"]["prefer"]
    assert got["aspects"] == summary["aspects"] and got["ranking"] == summary["ranking"]
    text = CliRunner().invoke(cli, ["stats", str(answers), "--no-verbs", "--sample", "0"]).stdout
    weak = summary["aspects"]["truthfulness"]["weak"]["mean"]
    assert (
        f"    truthfulness: mean strong {summary['aspects']['truthfulness']['strong']['mean']:g}, weak {weak:g}" in text
    )
    assert f"not ranked {summary['ranking']['unranked']}" in text
    out = tmp_path / "hf"
    exported = CliRunner().invoke(cli, ["export", str(answers), "--format", "hf-dpo", "--out", str(out)])
    assert exported.exit_code == 0, exported.output
    card = (out / "README.md").read_text(encoding="utf-8")
    assert "| rubric | helpfulness, honesty, instruction_following, truthfulness (each rated on its own" in card
    assert "## Scores per aspect" in card and "| aspect | `strong` | `weak` |" in card
    honesty = summary["aspects"]["honesty"]
    assert (f"| honesty | {honesty['strong']['mean']:g} ({honesty['strong']['unreadable']} unreadable) | "
            f"{honesty['weak']['mean']:g} ({honesty['weak']['unreadable']} unreadable) |") in card  # fmt: skip
    assert f"not ranked: {summary['ranking']['unranked']} (an aspect unreadable:" in card


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--rubric", "overall", "--rubric", "honesty"], "--rubric overall rates the aspects together"),
        (["--mode", "pairwise", "--rubric", "all"], "--rubric and --scale rate each response on its own"),
        (["--rubric", "kindness"], "Invalid value for '--rubric'"),
    ],
)
def test_rubrics_that_cannot_be_combined_are_refused(
    answers: Path, prefer_cli: PreferCli, args: list[str], message: str
) -> None:
    code, _, stderr = prefer_cli(answers, *args)
    assert code == 2 and message in stderr and not (answers / "prefer.json").exists()


def test_a_run_judged_on_several_aspects_resumes_only_with_the_same_ones(answers: Path, prefer_cli: PreferCli) -> None:
    assert prefer_cli(answers, "--rubric", "all")[0] == 0
    code, _, stderr = prefer_cli(answers, "--rubric", "helpfulness")
    assert code == 2 and "not 'helpfulness'" in stderr
    code, _, stderr = prefer_cli(answers, "--rubric", "helpfulness", "--rubric", "honesty", "--rubric",
                                 "instruction_following", "--rubric", "truthfulness")  # fmt: skip
    assert code == 0, stderr  # the same aspects: resumed, nothing new to ask
