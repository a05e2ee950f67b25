from __future__ import annotations

import string

from hypothesis import given, settings
from hypothesis import strategies as st
from rouge_score import tokenize as rouge_tokenize

from selfinstruct.text import detect_language, rouge_token_bytes, rouge_tokens, word_count

ascii_text = st.text(alphabet=string.printable, max_size=200)


@settings(max_examples=500)
@given(ascii_text)
def test_tokens_equal_rouge_score_on_ascii(text: str) -> None:
    assert rouge_tokens(text) == rouge_tokenize.tokenize(text, None)


@settings(max_examples=500)
@given(st.one_of(ascii_text, st.text(max_size=60)))
def test_token_bytes_are_the_tokens_encoded(text: str) -> None:
    assert rouge_token_bytes(text) == [token.encode() for token in rouge_tokens(text)]


def test_cjk_ideographs_are_single_tokens() -> None:
    assert rouge_tokens("写一首诗") == ["写", "一", "首", "诗"]
    assert rouge_tokens("用Python写一个函数") == ["用", "python", "写", "一", "个", "函", "数"]


def test_other_scripts_are_words() -> None:
    assert rouge_tokens("Crème brûlée, s'il vous plaît") == ["crème", "brûlée", "s", "il", "vous", "plaît"]
    assert rouge_tokens("Привет, мир") == ["привет", "мир"]
    # Devanagari vowel signs are combining marks and must not split a word.
    assert rouge_tokens("नमस्ते दुनिया") == ["नमस्ते", "दुनिया"]


def test_rouge_score_would_erase_chinese() -> None:
    assert rouge_tokenize.tokenize("写一首诗", None) == []
    assert len(rouge_tokens("写一首诗")) == 4


def test_word_count() -> None:
    assert word_count("Write a short poem") == 4
    assert word_count("写一首诗") == 4 / 1.5
    assert word_count("用 Python 写一个函数，计算平均值。") == 1 + 11 / 1.5


def test_detect_language() -> None:
    assert detect_language("Write a poem about autumn.") == "en"
    assert detect_language("写一首关于秋天的诗。") == "zh"
    assert detect_language("用Python写一个排序函数") == "zh"
    assert detect_language("Translate 你好 into English please, thanks") == "en"
