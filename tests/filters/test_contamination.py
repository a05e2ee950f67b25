"""The benchmark index: verbatim copies and light paraphrases of benchmark items are found (short ones too),
unrelated text that shares common phrases is not, Chinese by characters, long shared runs in long passages."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from selfinstruct.errors import InputError
from selfinstruct.filters.contamination import BenchmarkIndex, BenchmarkItem, ContaminationFilter
from selfinstruct.filters.contamination.tokens import tokens

ITEMS = [
    BenchmarkItem(
        "mini",
        "long",
        "Write a persuasive essay arguing that cities should replace parking lots with "
        "public parks, using at least three pieces of evidence.",
    ),
    BenchmarkItem("mini", "short3", "What is love?"),
    BenchmarkItem("mini", "short6", "Name the capital of Mongolia."),
    BenchmarkItem("mini", "zh", "请写一首关于秋天落叶的七言绝句，并解释其中的意象。"),
]


@pytest.fixture(scope="module")
def index() -> BenchmarkIndex:
    return BenchmarkIndex(ITEMS)


def found(index: BenchmarkIndex, text: str) -> str | None:
    hit = index.check(text)
    return None if hit is None else hit.item.id


def test_verbatim_copy_of_a_long_item_is_found_with_its_span_and_score(index: BenchmarkIndex) -> None:
    hit = index.check(ITEMS[0].text)
    assert hit is not None and hit.item.id == "long" and hit.score == 1.0 and hit.rule == "coverage"
    assert hit.span == " ".join(tokens(ITEMS[0].text))


def test_paraphrase_that_keeps_most_of_the_wording_is_found(index: BenchmarkIndex) -> None:
    para = ("Could you write a persuasive ESSAY arguing that cities should replace parking lots with public "
            "parks - using three pieces of evidence at least?")  # fmt: skip
    hit = index.check(para)
    assert hit is not None and hit.item.id == "long" and 0.5 < hit.score < 1.0


def test_short_items_are_matched_whole_in_short_records_only(index: BenchmarkIndex) -> None:
    assert found(index, "What is love") == "short3"
    assert found(index, "what is love??") == "short3"
    assert found(index, "Name the capital of Mongolia, please.") == "short6"  # 5 of min(8, 6) tokens
    # A common 3-word phrase inside a longer, different request is not a copy of the item.
    assert found(index, "Explain what is love according to three different philosophers of antiquity.") is None
    # The short item's words, but not in a row.
    assert found(index, "Love: what is it?") is None


def test_unrelated_text_sharing_common_phrases_is_not_flagged(index: BenchmarkIndex) -> None:
    texts = [
        "Write a persuasive essay about the benefits of learning a second language.",
        "Cities should invest in public transport; give three pieces of evidence.",
        "Describe public parks in Paris.",
        "请写一首关于春天的诗。",
    ]
    assert [found(index, t) for t in texts] == [None] * len(texts)


def test_chinese_items_are_matched_by_characters(index: BenchmarkIndex) -> None:
    assert found(index, "请写一首关于秋天落叶的七言绝句并解释其中的意象") == "zh"
    assert found(index, "帮我：请写一首关于秋天落叶的七言绝句，并解释其中的意象吧") == "zh"
    assert found(index, "请写一首关于夏天海边的现代诗") is None


def test_a_long_shared_run_is_contamination_even_when_it_covers_little_of_a_long_item() -> None:
    passage = " ".join(f"word{k}" for k in range(400))
    index = BenchmarkIndex([BenchmarkItem("reading", "p1", passage)], min_span=30)
    copied = "Summarise: " + " ".join(f"word{k}" for k in range(100, 140))
    hit = index.check(copied)
    assert hit is not None and hit.rule == "long_substring" and hit.longest == 40 and hit.score == pytest.approx(0.1)
    assert hit.span == " ".join(f"word{k}" for k in range(100, 140))
    assert index.check("Summarise: " + " ".join(f"word{k}" for k in range(100, 125))) is None


def test_threshold_is_a_strict_bound_on_the_coverage() -> None:
    item = BenchmarkItem("b", "1", " ".join(f"t{k}" for k in range(16)))
    half = " ".join(f"t{k}" for k in range(8)) + " unrelated words follow here now"
    assert BenchmarkIndex([item], threshold=0.5).check(half) is None  # exactly 0.5 covered
    assert BenchmarkIndex([item], threshold=0.4).check(half) is not None


def test_scan_decides_each_text_of_a_batch_and_keeps_the_best_item(index: BenchmarkIndex) -> None:
    out = index.scan(["nothing here", ITEMS[0].text, "What is love?", ""])
    assert [None if h is None else h.item.id for h in out] == [None, "long", "short3", None]


def test_the_filter_rejects_as_contaminated_with_the_item_in_the_record(index: BenchmarkIndex) -> None:
    rejection = ContaminationFilter(index).check("What is love?", "en")
    assert rejection is not None and rejection.reason == "contaminated"
    record = rejection.to_dict()
    assert record["similar_to"] == "What is love?"
    assert record["contamination"]["benchmark"] == "mini" and record["contamination"]["item"] == "short3"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"n": 0}, "--ngram"), ({"threshold": 1.0}, "--threshold"), ({"min_span": 0}, "--min-span")],
)
def test_bad_settings_are_input_errors(kwargs: dict[str, float], message: str) -> None:
    with pytest.raises(InputError, match=message):
        BenchmarkIndex(ITEMS, **kwargs)  # type: ignore[arg-type]


def _paraphrase(text: str) -> str:
    """A light rewrite: a prefix, other punctuation and case, and one word replaced in long items."""
    words = text.replace(",", " ,").replace(".", " ;").split()
    if len(words) >= 24:
        words[len(words) * 3 // 4] = "XYZZY"
    return "Please help with this. " + " ".join(words).upper() + " Thanks"


def test_planted_user_oriented_instructions_are_found_and_the_seeds_are_not(user_oriented: Path, seeds: Path) -> None:
    """The Self-Instruct paper's evaluation set against its own seeds: 0 false positives among the 175 seeds;
    every verbatim copy found; every light paraphrase found except those of items under 8 words, which are
    matched whole only while the record stays short."""
    items = [json.loads(line) for line in user_oriented.read_text(encoding="utf-8").splitlines()]
    index = BenchmarkIndex([BenchmarkItem("uo", it["id"], it["instruction"]) for it in items])
    seeds = [json.loads(line)["instruction"] for line in seeds.read_text().splitlines()]
    assert [h for h in index.scan(seeds) if h is not None] == []
    verbatim = index.scan([it["instruction"] for it in items])
    # (the set repeats a few instructions under two ids: the match is the first of them)
    assert all(h is not None and h.item.text == it["instruction"] for h, it in zip(verbatim, items, strict=True))
    para = index.scan([_paraphrase(it["instruction"]) for it in items])
    missed = [it["instruction"] for h, it in zip(para, items, strict=True) if h is None]
    assert all(len(tokens(m)) < 8 for m in missed)
    assert len(missed) <= 15
