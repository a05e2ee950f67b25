from __future__ import annotations

import gc
import re
import sys
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from selfinstruct.errors import InputError
from selfinstruct.filters import (
    DEFAULT_KEYWORDS,
    FilterChain,
    FormatFilter,
    KeywordFilter,
    LengthFilter,
    heap,
    parse_filter_names,
    rouge_join,
    rouge_signatures,
)
from selfinstruct.filters import keyword as keyword_module
from selfinstruct.filters.base import Rejection
from selfinstruct.filters.rouge import NearDuplicateIndex
from selfinstruct.text import Language


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("Write a poem", "too_short"),
        ("Write a short poem", None),
        (" ".join(["word"] * 150), None),
        (" ".join(["word"] * 151), "too_long"),
        ("写一首诗", "too_short"),  # 4 ideographs = 2.7 words, like "Write a poem"
        ("写一首短诗", None),
        ("字" * 225, None),
        ("字" * 226, "too_long"),
    ],
)
def test_length(text: str, reason: str | None) -> None:
    rejection = LengthFilter().check(text, "en")
    assert (rejection.reason if rejection else None) == reason


@pytest.mark.parametrize(
    ("text", "language", "blocked"),
    [
        ("Describe the image in detail.", "en", "image"),
        ("Summarize these IMAGES for me.", "en", "images"),
        ("Plot the data as a line chart.", "en", "plot"),
        ("Tell me how to go  to the station.", "en", "go to"),
        ("Explain the plotline of Hamlet.", "en", None),  # whole words only
        ("List the files' owners", "en", "files"),
        ("Name a musical instrument.", "en", None),
        ("Give directions to the mapping office.", "en", None),
        ("描述这张图片的内容。", "zh", "图片"),
        ("描述这张图片的内容。", "en", None),  # Chinese list only for Chinese
        ("把这段话翻译成英文并画出重点。", "zh", "画"),
        ("请生成一个image的描述", "zh", "image"),
        # The originals' \\b boundaries (issue 21, defect 7): "_" and letters of any script are word characters.
        ("Write a function that reads file_path and prints it.", "en", None),
        ("Rename the image_url field in this JSON.", "en", None),
        ("Open the file and count its lines.", "en", "file"),
        ("Please Go\n to the next step.", "en", "go to"),
        ("Explain what a heatmap is.", "en", None),
        ("Describe the imageé of a poet.", "en", None),
        ("Explain the image-processing pipeline.", "en", "image"),
        # Chinese keywords are whole jieba words: 画 (draw), not 刻画 (portray) or 画家 (painter).
        ("分析这篇文章如何刻画主人公。", "zh", None),
        ("他是一位著名的画家，介绍他的生平。", "zh", None),
        ("请画一幅猫的画。", "zh", "画"),
        ("用Python画图，展示销售数据。", "zh", "画图"),
        ("帮我画一张流程图。", "zh", "画"),
        ("请为我绘制一张地图。", "zh", "绘制"),
        ("视频会议有哪些礼仪？", "zh", None),
        ("读取file_path中的内容并统计行数。", "zh", None),
    ],
)
def test_keyword(text: str, language: str, blocked: str | None) -> None:
    rejection = KeywordFilter().check(text, language)  # type: ignore[arg-type]
    if blocked is None:
        assert rejection is None
    else:
        assert rejection is not None and f'"{blocked}"' in rejection.detail


def original_blacklisted(instruction: str) -> bool:
    """The originals' check: whitespace collapsed, then any ``\\b(word)\\b`` case-insensitive match."""
    inst = re.sub(r"\s+", " ", instruction).strip()
    return any(re.compile(rf"\b({w})\b", flags=re.IGNORECASE).search(inst) for w in DEFAULT_KEYWORDS)


KEYWORD_PARTS = (*DEFAULT_KEYWORDS, "go", "to", "Image", "FILES", "imagery", "mapping", "plotting", "é", "ß", "x")
SEPARATORS = (" ", "  ", "\n", "_", "-", ".", "'", "é", "2", "", "\u00a0", "写")


@settings(max_examples=500)
@given(st.lists(st.tuples(st.sampled_from(KEYWORD_PARTS), st.sampled_from(SEPARATORS)), max_size=8))
def test_english_keyword_decisions_equal_the_originals(parts: list[tuple[str, str]]) -> None:
    text = "".join(word + sep for word, sep in parts)
    assert (KeywordFilter().check(text, "en") is not None) is original_blacklisted(text)


@pytest.fixture
def no_jieba(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """As if jieba were not installed: importing it fails."""
    monkeypatch.setitem(sys.modules, "jieba", None)
    keyword_module._jieba_cut.cache_clear()
    keyword_module._keyword_words.cache_clear()
    yield
    keyword_module._jieba_cut.cache_clear()
    keyword_module._keyword_words.cache_clear()


@pytest.mark.usefixtures("no_jieba")
def test_chinese_keywords_without_jieba_are_refused_with_the_install() -> None:
    with pytest.raises(InputError, match=r'pip install "selfinstruct\[zh\]"'):
        FilterChain(language="zh")
    with pytest.raises(InputError, match="jieba"):
        FilterChain(language="auto").check_text("请画一幅猫的画。")
    # English, and Chinese without the keyword filter, need no jieba.
    assert FilterChain(language="auto").check_text("Write a short poem about the sea.") is None
    assert FilterChain(filters=("length", "rouge"), language="zh").check_text("写一首关于秋天的诗。") is None


def test_keyword_list_is_configurable() -> None:
    flt = KeywordFilter(keywords=("spreadsheet",))
    assert flt.check("Describe the image.", "en") is None
    assert flt.check("Open the spreadsheet.", "en") is not None


@pytest.mark.parametrize(
    ("text", "language", "reason"),
    [
        ("- Write a haiku about rain.", "en", "starts_with_punctuation"),
        ('"Quote" this sentence properly.', "en", "starts_with_punctuation"),
        ("Écris un poème.", "en", "wrong_script"),
        ("写一首关于秋天的诗。", "en", "wrong_script"),
        ("Write a program that sorts numbers.", "en", "write_a_program"),
        ("write a program to add two numbers", "en", "write_a_program"),
        ("Write a programme review.", "en", None),
        ("3 ways to save money, please list them.", "en", None),
        ("写一首关于秋天的诗。", "zh", None),
        ("Python中如何读取一个列表？", "zh", None),
        ("《红楼梦》的作者是谁？", "zh", None),
        ("，写一首诗。", "zh", "starts_with_punctuation"),
        ("!写一首诗。", "zh", "starts_with_punctuation"),
        ("Привет, переведи это.", "zh", "wrong_script"),
        ("编写一个程序，计算阶乘。", "zh", "write_a_program"),
    ],
)
def test_format(text: str, language: str, reason: str | None) -> None:
    rejection = FormatFilter().check(text, language)  # type: ignore[arg-type]
    assert (rejection.reason if rejection else None) == reason


def test_filter_names() -> None:
    assert parse_filter_names("rouge,length") == ("length", "rouge")
    with pytest.raises(InputError, match="unknown filter 'lenght'"):
        parse_filter_names("lenght")
    with pytest.raises(InputError):
        parse_filter_names(" , ")


def test_chain_is_greedy_in_order_and_cheap_rejects_do_not_enter_the_index() -> None:
    chain = FilterChain()
    assert chain.offer_many(["Write a short poem about the sea."])[0] is None
    dup = chain.offer_many(["Write a short poem about the ocean."])[0]
    assert dup is not None and dup.filter == "rouge" and dup.similar_to == "Write a short poem about the sea."
    # Rejected by keyword: must not be indexed, so its twin is judged on its own.
    assert chain.offer_many(["Describe the image of a sunset over the sea."])[0] is not None
    assert chain.offer_many(["Describe the painting of a sunset over the sea."])[0] is None
    assert len(chain.index) == 2


class _CollectorWitness:
    """A text filter that notes whether the garbage collector was enabled when it ran, and may fail."""

    name = "witness"

    def __init__(self, fail: bool = False) -> None:
        self.seen: list[bool] = []
        self.fail = fail

    def check(self, instruction: str, language: Language) -> Rejection | None:
        self.seen.append(gc.isenabled())
        if self.fail:
            raise RuntimeError("the filter failed")
        return None


def test_chain_pauses_the_garbage_collector_while_deciding_and_restores_it() -> None:
    """offer_many decides with the collector off (its full passes over a million decisions' objects grew faster
    than the file), and leaves it as it found it: on, off, and on again after a filter raised."""
    assert gc.isenabled()
    witness = _CollectorWitness()
    assert FilterChain(extra=(witness,)).offer_many(["Write a short poem about the sea."]) == [None]
    assert witness.seen == [False] and gc.isenabled()
    gc.disable()
    try:
        FilterChain(extra=(witness,)).offer_many(["Write a short poem about the sea."])
        assert not gc.isenabled()
    finally:
        gc.enable()
    failing = _CollectorWitness(fail=True)
    with pytest.raises(RuntimeError):
        FilterChain(extra=(failing,)).offer_many(["Write a short poem about the sea."])
    assert failing.seen == [False] and gc.isenabled()


def test_chain_auto_language() -> None:
    chain = FilterChain(language="auto")
    assert chain.offer_many(["写一首关于秋天的诗。"])[0] is None
    assert chain.offer_many(["Write a haiku about autumn leaves."])[0] is None
    assert chain.offer_many(["描述这张图片的内容。"])[0] is not None


def test_chain_validates() -> None:
    with pytest.raises(InputError):
        FilterChain(threshold=1.2)
    with pytest.raises(InputError):
        FilterChain(language="fr")  # type: ignore[arg-type]


def test_the_join_asks_numpy_for_small_pages_and_restores_its_setting() -> None:
    """The batch join and the decisions read off it run with numpy's huge-page advice off (a fresh huge page cost
    this VM more than its small pages: heap.small_pages), and numpy's setting comes back afterwards, whatever it
    was, also when the join fails."""
    switch = heap._huge_page_switch()
    if switch is None:
        pytest.skip("this numpy has no huge-page switch")
    seen: list[bool] = []
    real = rouge_signatures.Elements

    def noting(codes: list[str]) -> rouge_signatures.Elements:
        seen.append(switch(False))  # returns the setting in force (and leaves it off, as it was inside)
        return real(codes)

    texts = [f"Write a short story about a {w} and a {v}." for w in ("cat", "dog", "fox") for v in ("owl", "bee")]
    for before in (True, False):
        previous = switch(before)
        try:
            with pytest.MonkeyPatch.context() as mp:
                mp.setattr(rouge_join, "Elements", noting)
                assert NearDuplicateIndex().add_unique(texts, join=True) == NearDuplicateIndex().add_unique(
                    texts, join=False
                )
                assert switch(before) == before  # restored after the join
                mp.setattr(rouge_join, "Elements", lambda codes: 1 / 0)
                with pytest.raises(ZeroDivisionError):
                    rouge_join.similar_pairs(["abc"], 0.7)
                assert switch(before) == before  # and after a failure
        finally:
            switch(previous)
    assert seen == [False, False]
