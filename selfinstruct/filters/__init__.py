"""Filters of the Self-Instruct method: length, keyword blacklist, format, ROUGE-L near-duplicates."""

from selfinstruct.filters.base import Rejection, TextFilter
from selfinstruct.filters.chain import FILTER_NAMES, FilterChain, LanguageOption, parse_filter_names
from selfinstruct.filters.format import FormatFilter
from selfinstruct.filters.keyword import DEFAULT_KEYWORDS, DEFAULT_ZH_KEYWORDS, KeywordFilter
from selfinstruct.filters.length import LengthFilter
from selfinstruct.filters.rouge import DEFAULT_THRESHOLD, Match, NearDuplicateIndex
from selfinstruct.filters.rouge_math import rouge_fmeasure

__all__ = [
    "DEFAULT_KEYWORDS",
    "DEFAULT_THRESHOLD",
    "DEFAULT_ZH_KEYWORDS",
    "FILTER_NAMES",
    "FilterChain",
    "FormatFilter",
    "KeywordFilter",
    "LanguageOption",
    "LengthFilter",
    "Match",
    "NearDuplicateIndex",
    "Rejection",
    "TextFilter",
    "parse_filter_names",
    "rouge_fmeasure",
]
