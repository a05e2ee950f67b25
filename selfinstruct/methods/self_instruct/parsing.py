"""Parsers for LLM responses to the Self-Instruct and Alpaca prompts in ``prompts/``.

Models rarely keep to a format exactly: chat models add greetings, notes, bold, headings and code fences,
base models run past the requested list, and Chinese answers use full-width colons. Every parser here reads
English and Chinese markers interchangeably, works line by line, and drops what it cannot attribute to an
item instead of guessing, because a wrong instruction or instance pollutes the pool for every later round.
This module parses instruction lists and yes/no answers, and holds the line primitives the instance and
Alpaca parsers (``instance_parsing.py``, ``output_first.py``, ``alpaca_parsing.py``) share.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from selfinstruct.engine.reasoning import strip_reasoning

# Decoration a model may put in front of a marker: a markdown heading, a bullet, an opening bold.
_LEAD = r"^\s*(?:#{1,6}\s*)?(?:[-*•+]\s+)?(?:(?:\*\*|__)\s*)?"
# An optional closing bold around a marker or its colon.
_CLOSE = r"\s*(?:(?:\*\*|__)\s*)?"
_NUM = r"(?:\d{1,3}|[一二三四五六七八九十]{1,3})"
_COLON = r"[:：]"
_SCAN = 160

_TASK_MARK = re.compile(
    _LEAD + r"(?:\d{1,3}\s*[.)]" + _CLOSE + r")?(?:task|instruction|任务|指令)\s*(?:#\s*)?(?:" + _NUM + r"\s*)?"
    r"(?:(?:\*\*|__)\s*)?(?:[:：.)、]|[-–—](?=\s)|(?<=\d)(?=\s))",
    re.IGNORECASE,
)
_NUMBER_MARK = re.compile(_LEAD + r"(?:\d{1,3}\s*(?:[.)．、）]|[:：])(?!\d)|[(（]\d{1,3}[)）])")
_BULLET_MARK = re.compile(r"^\s*[-*•+]\s+")

# A line that begins a different section: the list of instructions is over.
_SECTION_END = re.compile(
    _LEAD + r"(?:inputs?|outputs?|answers?|solutions?|responses?|explanations?|notes?|examples?|instances?"
    r"|输入|输出|答案|解答|回答|示例|说明|注意|备注|注)(?:\s*\d+)?" + _CLOSE + _COLON,
    re.IGNORECASE,
)
# Closing remarks of a chat model after a list.
_NOTE = re.compile(
    r"^\s*(?:\*\*)?(?:these\b|this list\b|the (?:above|tasks|instructions)\b|all of (?:these|the above)\b"
    r"|each of these\b|i hope\b|hope (?:this|these)\b|let me know\b|feel free\b"
    r"|i(?:'ve| have) (?:tried|included|made|aimed)\b"
    r"|以上|这些(?:任务|指令|示例|例子)|希望|如需|如果需要|如有需要)",
    re.IGNORECASE,
)
# Closing remarks after instances or Alpaca tasks: narrow, since outputs have paragraphs of their own
# (a letter may well say "I hope you are well" or "Let me know by Friday").
_INSTANCE_NOTE = re.compile(
    r"^\s*(?:\*\*)?(?:these (?:examples|instances|tasks|pairs)\b|i hope (?:these|the above|this helps)\b"
    r"|hope (?:this|these) helps?\b|let me know if you (?:need|want|would like) (?:more|any|additional|other)\b"
    r"|feel free to ask\b|以上(?:就?是|为)?(?:几个|一些|全部)?(?:示例|例子|任务)"
    r"|希望(?:这些|以上)(?:示例|例子|任务|内容))",
    re.IGNORECASE,
)
# Opening remarks or a refusal rather than an instruction ("下面是一段对话……" can be an instruction, so an
# intro like "以下是8个新任务：" is recognised by its colon instead, see _is_chatter).
_CHATTER = re.compile(
    r"^\s*(?:sure\b|certainly\b|of course\b|okay\b|ok\b|alright\b|absolutely\b|here (?:are|is)\b|here's\b"
    r"|i'm sorry|i am sorry|sorry\b|i can(?:no|')t\b|as an ai\b|好的|当然|没问题|抱歉|对不起)",
    re.IGNORECASE,
)
_LIST_INTRO = re.compile(r"(?:task|instruction|following|below|more|任务|指令|以下|如下)", re.IGNORECASE)
_FENCE = re.compile(r"^\s*(?:```|~~~)")
_RULE = re.compile(r"^\s*(?:-{3,}|\*{3,}|_{3,}|={3,})\s*$")
_HEADING = re.compile(r"^\s*(?:#{1,6}\s|\*\*[^*]+\*\*\s*(?:[:：]\s*)?$|__[^_]+__\s*(?:[:：]\s*)?$)")
_BOLD_TITLE = re.compile(r"^\*\*([^*\n]{1,60}?)(?:\*\*\s*[:：]|[:：]\s*\*\*)\s*(?P<rest>\S.*)$")
_QUOTES = {'"': '"', "“": "”", "'": "'", "‘": "’", "「": "」", "『": "』", "`": "`"}
_NA_VALUES = frozenset(
    {"", "not applicable", "none", "n/a", "na", "no input", "noinput", "<noinput>", "<no input>", "null", "empty",
     "-", "无", "无输入", "<无输入>", "不适用", "没有", "空"}
)  # fmt: skip


def _field_re(names: str, prefix: str = "") -> re.Pattern[str]:
    """A "Label: rest" line, tolerating bold, headings, bullets, a number after the label and full-width colons."""
    return re.compile(_LEAD + prefix + rf"(?P<field>{names})(?:\s*\d+)?" + _CLOSE + _COLON + _CLOSE, re.I)


@dataclass(frozen=True)
class ParsedList:
    items: list[str]
    dropped_truncated: bool
    ignored_lines: int
    echoed: int = 0  # demonstrations the model repeated before its own tasks (also in ignored_lines)


def normalize_whitespace(text: str) -> str:
    """Collapse every run of whitespace (newlines and full-width spaces too) to one space; never touch case."""
    return re.sub(r"\s+", " ", text).strip()


def _at(pattern: re.Pattern[str], line: str) -> re.Match[str] | None:
    """Match a marker pattern against the start of ``line`` only: markers are short, and bounding the scan keeps
    the optional-whitespace runs in the patterns from backtracking quadratically on degenerate output."""
    return pattern.match(line[:_SCAN])


# Invisible characters a reply may start a line with (a byte-order mark, zero-width spaces and joiners): a label
# behind one is still a label.
_INVISIBLE = "\ufeff\u200b\u200c\u200d\u2060"


def _lines(text: str) -> list[str]:  # CRLF and lone CR too
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return [line.lstrip(_INVISIBLE) if line[:1] in _INVISIBLE and line else line for line in lines]


def _unwrap_fence(lines: list[str]) -> list[str]:
    """Drop a code fence wrapping the whole response; fences inside an output are content and stay."""
    body = [i for i, line in enumerate(lines) if line.strip()]
    if len(body) >= 2 and _FENCE.match(lines[body[0]]) and lines[body[-1]].strip() in ("```", "~~~"):
        return lines[body[0] + 1 : body[-1]]
    return lines


def _is_cjk_edge(ch: str) -> bool:
    return "\u2e80" <= ch <= "\u9fff" or "\uff00" <= ch <= "\uffef" or "\u3000" <= ch <= "\u303f"


def _join(parts: list[str]) -> str:
    """Join wrapped lines with a space, but not between two Chinese characters, where a space is an error."""
    out = ""
    for part in (p.strip() for p in parts):
        if not part:
            continue
        if out and not (_is_cjk_edge(out[-1]) and _is_cjk_edge(part[0])):
            out += " "
        out += part
    return out


def _strip_quotes(text: str) -> str:
    while len(text) >= 2 and _QUOTES.get(text[0]) == text[-1] and text[0] not in text[1:-1]:
        text = text[1:-1].strip()
    return text


def _clean_instruction(parts: list[str]) -> str:
    text = _join(parts)
    title = _BOLD_TITLE.match(text)
    # "**Poem about rain**: Write a poem ..." keeps only the instruction; "**Rewrite:** the text" is not a title.
    if title and not title.group("rest")[0].islower():
        text = title.group("rest")
    return _strip_quotes(normalize_whitespace(text.replace("**", "")))


def _block(parts: list[str]) -> str:
    """Multi-line field text: keep inner line breaks; drop surrounding blanks and a fence around it all."""
    return "\n".join(p.rstrip() for p in _unwrap_fence(parts)).strip()


# A title a chat model puts above the next task or example: "**Task 5**", "### Example 3", "任务 2".
_ITEM_TITLE = re.compile(
    r"^\s*(?:#{1,6}\s*)?(?:\*\*|__)?\s*(?:task|example|任务|示例)\s*#?\s*\d{1,3}\s*[:：.]?\s*(?:\*\*|__)?\s*$", re.I
)


def _field_text(parts: list[str]) -> str:
    """A field's text (see _block) without what a chat model puts between items after it: a markdown rule, a
    title of the next item."""
    while parts and (not parts[-1].strip() or _RULE.match(parts[-1]) or _ITEM_TITLE.match(parts[-1][:_SCAN])):
        parts = parts[:-1]
    return _block(parts)


def _fence_pairs(lines: list[str]) -> dict[int, int]:
    """Each opening code-fence line's index mapped to its closing line's: labels between them are code."""
    pairs: dict[int, int] = {}
    opened: int | None = None
    for i, line in enumerate(lines):
        if _FENCE.match(line):
            if opened is None:
                opened = i
            else:
                pairs[opened], opened = i, None
    return pairs


def _na(text: str) -> str:
    """Map the many ways of saying "no input" to ""."""
    key = normalize_whitespace(text.replace("**", "")).strip("()（）[]【】\"'“”「」.。").lower()
    return "" if key in _NA_VALUES else text


def _is_chatter(line: str) -> bool:
    s = line.strip().replace("**", "")
    return bool(_CHATTER.match(s)) or (s.endswith((":", "：")) and bool(_LIST_INTRO.search(s)))


def _marker_kind(lines: list[str]) -> str:
    """The item marker the response uses; weaker markers inside an item are then continuation text."""
    if any(_at(_TASK_MARK, line) for line in lines):
        return "task"
    if any(_at(_NUMBER_MARK, line) for line in lines):
        return "number"
    return "bullet"


def _item_start(line: str, kind: str) -> tuple[str, int | None] | None:
    """(the text after the item marker, the marker's number or None) when ``line`` starts an item, else None."""
    patterns = {"task": (_TASK_MARK,), "number": (_TASK_MARK, _NUMBER_MARK)}
    for pattern in patterns.get(kind, (_TASK_MARK, _NUMBER_MARK, _BULLET_MARK)):
        m = _at(pattern, line)
        if m:
            rest = line[m.end() :].strip()
            # "**Task 9:** Write ..." closes the marker's bold; in "1. **Title**: ..." the bold belongs to the text.
            if m.group(0).count("**") % 2 and rest.startswith("**"):
                rest = rest[2:].strip()
            digits = re.findall(r"\d+", m.group(0))  # "1. **Task 17:**" is task 17
            return rest, int(digits[-1]) if digits else None
    return None


@dataclass
class _Item:
    number: int | None
    parts: list[str]


def parse_instruction_list(
    text: str, *, continued: bool, truncated: bool, first_number: int | None = None
) -> ParsedList:
    """Instructions from a numbered-list response to ``instructions.txt``.

    ``continued``: the prompt ended with "Task N:", so text before the first marker is the first instruction
    (unless it reads as chatter, or the reply numbers task N itself), for a chat model as for a base model.
    ``truncated``: the response hit the token limit, so the item it ends in may be cut and is dropped; a
    response that ends in notes after the list loses nothing.

    ``first_number``: the number of the first new task the prompt asked for (the demonstrations are 1 to
    first_number - 1). A chat model that echoes the demonstrations before its own tasks numbers them below
    it: once any item carries a number from first_number on, the items numbered below it are dropped as
    echoes. A reply numbered only below it renumbered its new tasks from 1 and is kept; unnumbered items
    (bullets, a continued first line) are kept.

    An ``Input:``, ``Output:``, ``Note:`` ... line under a task (a model that adds an input or an answer)
    opens a section that is skipped up to the next task marker; in a numbered list only a marker numbered
    above the last task continues the list, so an answers section renumbered from 1 is not taken for tasks.
    In a bullet list, whose bullets may be the section's own content, such a line ends the list.
    """
    text = strip_reasoning(text)
    lines = [line for line in _lines(text) if not _FENCE.match(line)]
    kind = _marker_kind(lines)
    items: list[_Item] = []
    current: list[str] | None = None
    first = next((line for line in lines if line.strip()), "")
    plain = not (_at(_SECTION_END, first) or _NOTE.match(first) or _HEADING.match(first))
    opened = continued and bool(first) and plain and _item_start(first, kind) is None and not _is_chatter(first)
    if opened:
        current = []
        items.append(_Item(first_number, current))
    ignored = 0
    after_blank = False
    stopped = False
    in_section = False
    tail_in_item = False
    last_number: int | None = first_number if items else None  # a continued first item is task first_number
    for raw in lines:
        line = raw.strip()
        if stopped:
            ignored += bool(line)
            continue
        if not line or _RULE.match(line):
            after_blank = True
            continue
        start = _item_start(line, kind)
        if start is not None and in_section and not _continues_list(start[1], last_number, kind):
            start = None
        if start is not None:
            content, number = start
            current = [content] if content else []
            items.append(_Item(number, current))
            last_number = number if number is not None else last_number
            in_section = False
            tail_in_item = True
        elif in_section:
            ignored += 1
        elif items and _at(_SECTION_END, line):
            stopped = kind == "bullet"
            in_section = not stopped
            current = None
            ignored += 1
            tail_in_item = False
        elif items and _NOTE.match(line):
            stopped = True
            ignored += 1
            tail_in_item = False
        elif current is not None and (not current or not (after_blank or _HEADING.match(line))):
            current.append(line)  # the marker's own line was empty, or the item wraps onto this line
            tail_in_item = True
        else:
            current = None
            ignored += 1
            tail_in_item = False
        after_blank = False
    if opened and any(i.number == first_number for i in items[1:]):
        items.pop(0)  # the reply numbers task first_number itself: its first line was an intro, not the task
        ignored += 1
    dropped = False
    if truncated and tail_in_item and items:
        dropped = bool(_clean_instruction(items.pop().parts))
    echoes = 0
    if first_number is not None and any(i.number is not None and i.number >= first_number for i in items):
        kept_items = [i for i in items if i.number is None or i.number >= first_number]
        echoes, items = len(items) - len(kept_items), kept_items
    cleaned = [_clean_instruction(item.parts) for item in items]
    kept = [c for c in cleaned if any(ch.isalnum() for ch in c)]
    return ParsedList(items=kept, dropped_truncated=dropped, ignored_lines=ignored + echoes, echoed=echoes)


def _continues_list(number: int | None, last: int | None, kind: str) -> bool:
    """Whether a marker inside a skipped section starts the next task rather than the section's own list."""
    if number is None:
        return kind == "task"  # an unnumbered "Task:" marker; a bare bullet belongs to the section
    return last is None or number > last


_YES_NO_WORD = re.compile(r"^[\W_]*(yes|yep|yeah|true|no|nope|not|false)\b", re.IGNORECASE)
_YES_NO_ZH = re.compile(r"^[\W_]*(不是|不属于|不|否|非|是|属于|对)")
# Unsure, or the options echoed back ("Yes/No", "是或否").
_UNSURE = re.compile(
    r"[\W_]*(?:not (?:sure|certain)\b|(?:yes|no)\s*(?:or|/)\s*(?:yes|no)\b|[是否]\s*(?:或|还是|/)\s*[是否])", re.I
)


def parse_yes_no(text: str) -> bool | None:
    """The answer to "Is it classification?" in English or Chinese; None when it cannot tell."""
    text = strip_reasoning(text)
    lines = [line for line in _lines(text.replace("**", "").replace("__", "")) if line.strip()]
    lines = [line for line in lines if not _FENCE.match(line)]
    if not lines:
        return None
    line = lines[0].strip()[:300]
    # A chat model may echo the question ("Is it classification? Yes") or label its reply ("Answer: No").
    line = re.sub(r"^.*?(?:classification|分类任务)\s*[?？]\s*", "", line, flags=re.IGNORECASE)
    line = re.sub(r"^[\W_]*(?:answer|a|答案|回答|答)\s*[:：]\s*", "", line, flags=re.IGNORECASE)
    if not line and len(lines) > 1:
        line = lines[1].strip()
    if re.fullmatch(r"[\W_]*[yn][\W_]*", line, flags=re.IGNORECASE):
        return line.strip("\"'.*() ").lower() == "y"
    if _UNSURE.match(line):
        return None
    m = _YES_NO_WORD.match(line)
    if m:
        return m.group(1).lower() in ("yes", "yep", "yeah", "true")
    m = _YES_NO_ZH.match(line)
    if m:
        return m.group(1) in ("是", "属于", "对")
    low = line.lower()
    if re.search(r"\bnot (?:a )?classification\b|不是(?:一个|一项)?分类|非分类|不属于分类", low):
        return False
    if re.search(r"\bis (?:a )?classification\b|是(?:一个|一项)?分类|属于分类", low):
        return True
    yes, no = bool(re.search(r"\byes\b", low)), bool(re.search(r"\bno\b", low))
    return yes if yes != no else None
