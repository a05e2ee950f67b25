"""Drop tasks a text-only model cannot do (pictures, sound, files...): the Self-Instruct/Alpaca blacklist.

English keywords match as in the originals' ``find_word_in_string``: ``\\b(word)\\b``, case-insensitive, on
the instruction with runs of whitespace made one space (so "go  to" is "go to"). Python's ``\\b`` is
Unicode-aware and ``_`` is a word character, so "file_path" and "résumés" do not contain "file" or "résumé".
Chinese has no spaces, so Chinese keywords match whole words of jieba's segmentation: 画 (draw) in 画一只猫 but
not in 刻画 (portray) or 画家 (painter).
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from selfinstruct.errors import InputError
from selfinstruct.filters.base import Rejection
from selfinstruct.text import Language, without_cjk

# Union of the Self-Instruct and Alpaca lists.
DEFAULT_KEYWORDS: tuple[str, ...] = (
    "image", "images", "graph", "graphs", "picture", "pictures", "file", "files", "map", "maps",
    "draw", "plot", "go to", "video", "audio", "music", "flowchart", "diagram",
)  # fmt: skip

# Chinese equivalents, each a whole word (or run of words) of jieba's dictionary segmentation: 画 (draw) is a
# word in 画一只猫 and 请画出, while 画图, 画画, 绘图, 作图 and 作画 are words of their own.
DEFAULT_ZH_KEYWORDS: tuple[str, ...] = (
    "图片", "图像", "照片", "视频", "音频", "音乐", "画", "画图", "画画", "绘图", "作图", "作画", "绘制",
    "文件", "地图", "流程图", "图表", "示意图",
)  # fmt: skip

ZH_INSTALL_HINT = 'Chinese keywords are matched on words that jieba segments: pip install "selfinstruct[zh]"'


@functools.cache
def _jieba_cut() -> Callable[[str], list[str]] | None:
    """jieba's dictionary segmentation (no HMM guesses: 画出 stays 画 + 出), or None when jieba is missing."""
    try:
        import jieba
    except ImportError:
        return None
    jieba.setLogLevel(logging.WARNING)  # it logs the loading of its dictionary otherwise

    def cut(text: str) -> list[str]:
        return [w for w in jieba.lcut(text, HMM=False) if w.strip()]

    return cut


def require_jieba() -> Callable[[str], list[str]]:
    """The segmenter, or an InputError naming the install (Chinese keywords cannot be matched without it)."""
    cut = _jieba_cut()
    if cut is None:
        raise InputError(ZH_INSTALL_HINT)
    return cut


_SPACES = re.compile(r"\s+")  # the originals collapse whitespace before matching


def _word_pattern(words: Sequence[str]) -> re.Pattern[str] | None:
    """One regex for any of the words: the same matches as trying ``\\b(w)\\b`` for each w in turn."""
    alternatives = [re.escape(" ".join(w.split())) for w in words if w.strip()]
    if not alternatives:
        return None
    return re.compile(r"\b(" + "|".join(alternatives) + r")\b", re.IGNORECASE)


@functools.lru_cache(maxsize=256)
def _keyword_words(keyword: str) -> tuple[str, ...]:
    """A keyword as jieba segments it: a keyword of several words matches that run of words."""
    return tuple(require_jieba()(keyword))


def _contains_run(words: tuple[str, ...], run: tuple[str, ...]) -> bool:
    n = len(run)
    return n > 0 and any(words[i : i + n] == run for i in range(len(words) - n + 1))


@dataclass(frozen=True)
class KeywordFilter:
    keywords: tuple[str, ...] = DEFAULT_KEYWORDS
    zh_keywords: tuple[str, ...] = DEFAULT_ZH_KEYWORDS
    name: str = "keyword"
    _pattern: re.Pattern[str] | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_pattern", _word_pattern(self.keywords))

    def _reject(self, word: str) -> Rejection:
        return Rejection(self.name, "blacklisted", f'contains "{word}", which a text-only model cannot do')

    def check(self, instruction: str, language: Language) -> Rejection | None:
        # In Chinese text an ideograph ends an English word ("生成一个image的描述" contains "image").
        text = _SPACES.sub(" ", without_cjk(instruction) if language == "zh" else instruction)
        if self._pattern is not None and (match := self._pattern.search(text)):
            return self._reject(" ".join(match.group(1).lower().split()))
        if language == "zh" and self.zh_keywords:
            cut = require_jieba()
            # A keyword that is not even a substring cannot be a run of words: most instructions skip the
            # segmentation, and a file without any skips loading jieba's dictionary (1-2 s).
            compact = "".join(instruction.split())
            candidates = [k for k in self.zh_keywords if "".join(k.split()) in compact]
            words = tuple(cut(instruction)) if candidates else ()
            for keyword in candidates:
                if _contains_run(words, _keyword_words(keyword)):
                    return self._reject(keyword)
        return None
