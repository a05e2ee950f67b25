from __future__ import annotations

import pytest

from selfinstruct.errors import InputError
from selfinstruct.filters import FilterChain, FormatFilter, KeywordFilter, LengthFilter, parse_filter_names


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
    ],
)
def test_keyword(text: str, language: str, blocked: str | None) -> None:
    rejection = KeywordFilter().check(text, language)  # type: ignore[arg-type]
    if blocked is None:
        assert rejection is None
    else:
        assert rejection is not None and f'"{blocked}"' in rejection.detail


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
