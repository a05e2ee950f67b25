"""Drop tasks a text-only model cannot do (pictures, sound, files...): the Self-Instruct/Alpaca blacklist."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from selfinstruct.filters.base import Rejection
from selfinstruct.text import Language

# Union of the Self-Instruct and Alpaca lists.
DEFAULT_KEYWORDS: tuple[str, ...] = (
    "image", "images", "graph", "graphs", "picture", "pictures", "file", "files", "map", "maps",
    "draw", "plot", "go to", "video", "audio", "music", "flowchart", "diagram",
)  # fmt: skip

# Chinese equivalents, matched as substrings (Chinese has no spaces between words).
DEFAULT_ZH_KEYWORDS: tuple[str, ...] = (
    "图片", "图像", "照片", "视频", "音频", "音乐", "画", "绘制", "文件", "地图", "流程图", "图表", "示意图",
)  # fmt: skip


def _word_pattern(words: Sequence[str]) -> re.Pattern[str] | None:
    if not words:
        return None
    # Whole words: ASCII letters/digits may not touch the keyword (works inside Chinese text too).
    alternatives = sorted((r"\s+".join(map(re.escape, w.split())) for w in words if w.strip()), key=len)
    return re.compile(r"(?<![A-Za-z0-9])(?:" + "|".join(reversed(alternatives)) + r")(?![A-Za-z0-9])", re.I)


@dataclass(frozen=True)
class KeywordFilter:
    keywords: tuple[str, ...] = DEFAULT_KEYWORDS
    zh_keywords: tuple[str, ...] = DEFAULT_ZH_KEYWORDS
    name: str = "keyword"
    _pattern: re.Pattern[str] | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_pattern", _word_pattern(self.keywords))

    def check(self, instruction: str, language: Language) -> Rejection | None:
        if self._pattern is not None:
            match = self._pattern.search(instruction)
            if match:
                word = " ".join(match.group(0).lower().split())
                return Rejection(self.name, "blacklisted", f'contains "{word}", which a text-only model cannot do')
        if language == "zh":
            for word in self.zh_keywords:
                if word in instruction:
                    return Rejection(self.name, "blacklisted", f'contains "{word}", which a text-only model cannot do')
        return None
