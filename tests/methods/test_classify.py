"""The rule-based classifier must agree with human labels on the labelled seed sets."""

from __future__ import annotations

from pathlib import Path

import pytest

from selfinstruct.io.seeds import load_tasks
from selfinstruct.methods.self_instruct.classify import looks_like_classification


def agreement(path: Path) -> float:
    tasks = load_tasks(path)
    return sum(looks_like_classification(t.instruction) == t.is_classification for t in tasks) / len(tasks)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_agrees_with_our_seed_labels(lang: str, seed_files: dict[str, Path]) -> None:
    assert agreement(seed_files[lang]) >= 0.88


def test_agrees_with_the_original_seed_labels(original_seeds: Path, zh_original_seeds: Path) -> None:
    assert agreement(original_seeds) >= 0.9
    assert agreement(zh_original_seeds) >= 0.9


@pytest.mark.parametrize(
    ("instruction", "expected"),
    [
        ("Classify the review as positive, negative, or neutral.", True),
        ("Is the following statement true or false?", True),
        ("Rate the urgency of this request as low, medium, or high.", True),
        ("判断下面这条评论是正面还是负面。", True),
        ("Write a short poem about autumn rain.", False),
        ("Explain how vaccines train the immune system.", False),
        ("写一首关于秋天的诗。", False),
    ],
)
def test_examples(instruction: str, expected: bool) -> None:
    assert looks_like_classification(instruction) is expected
