"""A 5k-task run directory (made here, no model): its HTML report is one file with every section, and the
review figures (pairs, duplicates, warnings, sample) find what was planted."""

from __future__ import annotations

import json
import random
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from selfinstruct.cli.stats import stats_cmd
from selfinstruct.io.seeds import load_tasks
from selfinstruct.stats.compute import compute_stats
from selfinstruct.stats.review import sample_tasks

VERBS = ["Write", "Explain", "Summarize", "List", "Classify", "Translate", "Describe", "Compare", "Suggest", "Rewrite"]
OBJECTS = ["poem", "story", "email", "report", "recipe", "plan", "review", "letter", "summary", "essay", "list"]
TOPICS = ["the ocean", "a city at night", "climate change", "a job interview", "machine learning", "chess"]
WORDS = ["about", "for", "with", "using", "in", "three", "short", "simple", "detailed", "funny", "formal"]
SECTIONS = ("warnings", "summary", "run", "rejected", "lengths", "similarity", "pairs", "verbs", "sample")


@pytest.fixture(scope="module")
def synthetic_run(seeds: Path, write_jsonl: Callable[[Path, Sequence[dict[str, Any]]], Path]) -> Callable[..., Path]:
    def synthetic_run(out: Path, n: int, seed: int = 0) -> Path:
        """A run directory as `generate` leaves it: n tasks (1% exact repeats, some shared outputs, ~30%
        classification), the bundled seeds, rejections of several kinds with raw replies, run.json with usage."""
        rng = random.Random(seed)
        out.mkdir(parents=True)
        tasks: list[dict[str, Any]] = []
        for k in range(n):
            if tasks and rng.random() < 0.01:
                instruction = rng.choice(tasks)["instruction"]  # an exact duplicate the report must count
            else:
                extra = " ".join(rng.choices(WORDS, k=rng.randint(0, 6)))
                instruction = f"{rng.choice(VERBS)} a {rng.choice(OBJECTS)} {extra} {rng.choice(TOPICS)} #{k}."
            is_cls = rng.random() < 0.3
            instances = [
                {"input": "" if rng.random() < 0.5 else f"Input text number {k} {j}.",
                 "output": rng.choice(["positive", "negative"]) if is_cls
                 else "Shared boilerplate answer text." if k % 97 == 0 else f"Answer {k}.{j}: " + " ".join(
                     rng.choices(WORDS, k=rng.randint(3, 40)))}
                for j in range(rng.randint(1, 3))
            ]  # fmt: skip
            tasks.append({"id": f"machine_task_{k}", "instruction": instruction, "instances": instances,
                          "is_classification": is_cls, "meta": {"request": k // 4, "candidate": k % 4}})  # fmt: skip
        write_jsonl(out / "tasks.jsonl", tasks)
        write_jsonl(out / "seeds.jsonl", [t.to_dict() for t in load_tasks(seeds)])
        reasons = [
            ("filter", "near_duplicate", "ROUGE-L 0.81 > 0.7"),
            ("filter", "keyword", "image"),
            ("instances", "no_instances", "0 parsed, none usable"),
            ("response", "empty", "finish_reason=length"),
        ]
        rejected = []
        for k in range(n // 5):
            stage, reason, detail = reasons[k % len(reasons)]
            record = {"meta": {"request": k, "candidate": 1}, "stage": stage, "reason": reason, "detail": detail,
                      "instruction": f"Rejected instruction {k}." if stage != "response" else ""}  # fmt: skip
            if k % 2 == 0:
                record["raw"] = f"Task {k}: Rejected instruction {k}.\nTask {k + 1}: <cut off here" + " x" * 50
            rejected.append(record)
        write_jsonl(out / "rejected.jsonl", rejected)
        cut = {"instructions": 17, "classify": 0, "instances": 4}
        usage = {step: {"requests": n, "prompt_tokens": 300 * n, "completion_tokens": 80 * n, "retries": 3, "empty": 1,
                        "truncated": t} for step, t in cut.items()}  # fmt: skip
        run = {"status": "complete", "settings": {"language": "en", "threshold": 0.7}, "usage": usage,
               "counts": {"accepted": n}}  # fmt: skip
        (out / "run.json").write_text(json.dumps(run), encoding="utf-8")
        return out

    return synthetic_run


@pytest.fixture(scope="module")
def run_5k(tmp_path_factory: pytest.TempPathFactory, synthetic_run: Callable[..., Path]) -> Path:
    return synthetic_run(tmp_path_factory.mktemp("r") / "run", 5000)


def test_html_of_a_5k_run_has_every_section(run_5k: Path, tmp_path: Path, need: Callable[[str], Any]) -> None:
    need("matplotlib")
    page = tmp_path / "report.html"
    result = CliRunner().invoke(stats_cmd, [str(run_5k), "--html", str(page), "--sample", "12", "--seed", "3", "-q"])
    assert result.exit_code == 0, result.stderr
    text = page.read_text(encoding="utf-8")
    for section in SECTIONS:
        assert f'<section id="{section}">' in text, section
    assert text.count("<svg") == 3 and not re.search(r"<script|<link|<img|src=|href=\"(?!#)", text)  # one file
    assert "stroke-dasharray" in text  # the threshold line on the ROUGE-L histogram
    assert "most common noun" in text and "other nouns" in text  # the verb chart's legend
    assert "the paper&#x27;s Figure 3" in text and "In tokens (tiktoken cl100k_base)" in text
    assert "raw reply" in text and "&lt;cut off here" in text  # raw replies of rejected candidates
    assert text.count("<tr><td>machine_task_") >= 12  # the sample (and the closest pairs)
    assert re.search(r"replies cut off at the token limit</td><td>21<", text)  # 17 + 0 + 4
    assert 100_000 < len(text) < 5_000_000


def test_review_figures_of_a_5k_run(run_5k: Path) -> None:
    s = compute_stats(run_5k, parse_verbs=False, sample=5, seed=1)
    assert s.tasks == 5000 and 20 < s.exact_duplicates < 90  # ~1% planted
    assert s.near_pairs[0].score == 1.0 and len(s.near_pairs) == 10
    assert [p.score for p in s.near_pairs] == sorted((p.score for p in s.near_pairs), reverse=True)
    top = s.near_pairs[0]
    assert top.instruction.casefold().split() == top.other.casefold().split() and not top.other_is_seed
    assert s.seed_similarity_counts is not None and sum(s.seed_similarity_counts) == 5000
    assert s.truncated == {"classify": 0, "instances": 4, "instructions": 17}
    assert s.identical_outputs >= 30 and s.identical_examples[0][0] == "Shared boilerplate answer text."
    warnings = " ".join(s.warnings)
    assert "repeat an earlier instruction" in warnings and "share an output" in warnings and "21 replies" in warnings
    assert "classification tasks are" not in warnings  # ~30% is within 10-60%
    assert {len(v) for v in s.rejected_examples.values()} == {3} and len(s.rejected_examples) == 4
    assert any(ex.raw for v in s.rejected_examples.values() for ex in v)
    # the sample is seeded: the same seed draws the same tasks, another seed others
    assert [t.id for t in s.sample] == [t.id for t in compute_stats(run_5k, parse_verbs=False, sample=5, seed=1).sample]
    tasks = load_tasks(run_5k / "tasks.jsonl")
    assert [t.id for t in sample_tasks(tasks, 5, 2)] != [t.id for t in s.sample]
    json.dumps(s.to_dict())  # serializable


def test_warnings_on_a_skewed_pool(
    tmp_path: Path, write_jsonl: Callable[[Path, Sequence[dict[str, Any]]], Path]
) -> None:
    rows = [{"instruction": f"Is statement {k} true?", "is_classification": True,
             "instances": [{"input": "", "output": "yes"}]} for k in range(8)]  # fmt: skip
    rows += [{"instruction": f"Name a color {k}.", "is_classification": False,
              "instances": [{"input": "", "output": "red"}]} for k in range(2)]  # fmt: skip
    s = compute_stats(write_jsonl(tmp_path / "p.jsonl", rows), parse_verbs=False)
    warnings = " ".join(s.warnings)
    assert "classification tasks are 80%" in warnings and "outside 10%-60%" in warnings
    assert "100% of the outputs of non-classification tasks are one word" in warnings
    assert "100% of the instances have an empty input" in warnings
