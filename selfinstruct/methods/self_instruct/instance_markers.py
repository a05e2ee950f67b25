"""The line markers of instance replies, shared by the input-first and output-first parsers.

"Example 2" headers, ``Input:``/``Output:``/``Class label:`` labels (with the bold, bullets, headings, list
numbers and full-width colons chat models add), the field names an input may be written under
("Sentence:", "句子："), and the pieces of a line that say it is code rather than structure.
"""

from __future__ import annotations

import re

from selfinstruct.methods.self_instruct.parsing import _CLOSE, _COLON, _LEAD, _NUM, _at, _field_re

_LIST_NUMBER = r"(?:\d{1,2}\s*[.)]\s+)?"  # "1. Input: ...": a chat model numbering its examples
_INPUT_LABEL = _field_re("input|输入", prefix=_LIST_NUMBER)
_OUTPUT_LABEL = _field_re("output|输出")
_CLASS_LABEL = _field_re(r"class\s*label|label|class|category|类别标签|类别|标签|分类", prefix=_LIST_NUMBER)
_CANONICAL_CLASS_LABEL = _field_re(r"class\s*label|类别标签", prefix=_LIST_NUMBER)
_COMMENT_LABEL = _field_re(r"explanations?|reason(?:ing)?|rationale|notes?|解释|说明|理由|注")
_EXAMPLE_LINE = re.compile(
    _LEAD + r"(?:example|instance|示例|例子|样例|例)\s*(?:#\s*)?" + _NUM
    + r"(?P<sep>(?:\s*(?:[:：.)]|[-–—](?=\s)|\*\*|__))*)\s*",
    re.IGNORECASE,
)  # fmt: skip
# The header of a task's first example ("Example 1", "示例 1"): after a "Task:" line it says a new task begins.
_FIRST_EXAMPLE = re.compile(
    _LEAD + r"(?:example|instance|示例|例子|样例|例)\s*(?:#\s*)?(?:1|一)(?![\d一二三四五六七八九十])", re.IGNORECASE
)
_TASK_LINE = re.compile(_LEAD + r"(?:task|任务)(?:\s*\d+)?" + _CLOSE + _COLON, re.IGNORECASE)
# A field name an input may be written under instead of "Input:" ("Sentence:", "Paragraph:", "句子："); a line
# starting with the one the first input used starts the next input in a reply without example headers.
_FIELD_NAME = re.compile(_LEAD + r"(?P<field>[^\W\d_][^\W_]*(?:[ -][^\W\d_][^\W_]*){0,2})" + _CLOSE + _COLON)
# Bounded runs only: these are searched anywhere in a line, where "\s*" before a word backtracks quadratically.
_INLINE_OUTPUT = re.compile(r"(?<![A-Za-z])(?:Output|输出)(?:\s{0,3}\d+)?\s{0,3}(?:\*\*|__)?\s{0,3}[:：]")
_INLINE_INPUT = re.compile(r"(?<![A-Za-z])(?:Input|输入)(?:\s{0,3}\d+)?\s{0,3}(?:\*\*|__)?\s{0,3}[:：]")
_PAIR_GLUE = ("|", "→", "->", "=>", "-", "–", "—", ",", ";")  # between an input and "Output:" on one line
_BOLD_FIELD = re.compile(r"^\s*(?:[-*•+]\s+)?(?:\*\*|__)([^*_\n:：]{1,40}?)\s*(?:\*\*|__)?\s*([:：])\s*(?:\*\*|__)?\s*")
_NOT_INPUT_NAMES = re.compile(  # never taken for an input's field name
    r"(?:task|example|instance|output|answer|note|explanation|任务|示例|输出|答案|说明)\b", re.I
)


# "Example:" alone: the original splits on it as on "Example 2". "Examples:" heads the list, not one example.
_BARE_EXAMPLE = re.compile(_LEAD + r"(?:example|示例|例子)" + _CLOSE + r"(?:[:：]" + _CLOSE + r")?$", re.I)
_EXAMPLES_HEADING = re.compile(_LEAD + r"(?:examples|instances)" + _CLOSE + r"(?:[:：]" + _CLOSE + r")?$", re.I)


def _example_rest(line: str, *, bare: bool = False) -> str | None:
    """The rest of an "Example 2" line ("" when it is only a header or a title), or None for ordinary text that
    merely starts with it ("Example 2 shows a loop."). As in the original, text after "Example 1:" or
    "Example 1." on the same line is the example's own. ``bare``: the reply heads its examples "Example:"."""
    m = _at(_EXAMPLE_LINE, line)
    if not m:
        return "" if bare and _at(_BARE_EXAMPLE, line.rstrip()) else None
    rest = line[m.end() :].strip()
    if not rest or rest[0] in "(（" or rest.endswith(("**", "__", ":", "：")) or line.lstrip().startswith("#"):
        return ""  # "**Example 1: Casual tone**", "### Example 2 - formal", "Example 3 (edge case)"
    if _at(_INPUT_LABEL, rest) or _at(_OUTPUT_LABEL, rest) or any(c in m.group("sep") for c in ":：.)-–—"):
        return rest
    return None


def _code_indented(line: str) -> bool:
    """Four spaces or a tab before plain text: a line of code, whose labels are not the reply's structure."""
    body = line.lstrip(" \t")
    indent = line[: len(line) - len(body)].expandtabs(4)
    return len(indent) >= 4 and not body.startswith(("-", "*", "•", "+", "_"))


def _plain_label(line: str) -> str:
    """ "**Sentence:** hey", "- **Sentence**: hey" -> "Sentence: hey": a chat model's markdown around an input's
    field name is not the input (a plain "- Agent: hi" line of a dialogue stays as it is)."""
    m = _BOLD_FIELD.match(line)
    return f"{m.group(1)}{m.group(2)} {line[m.end() :]}" if m else line


def _field_name(line: str) -> str | None:
    """The field name an input line starts with ("Sentence" in "Sentence: hey"), if it could be an input's."""
    m = _at(_FIELD_NAME, line)
    return m.group("field") if m and not _NOT_INPUT_NAMES.match(m.group("field")) else None
