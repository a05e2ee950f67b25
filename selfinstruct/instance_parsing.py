"""Parsers for the instance replies: input-first (``instances_input_first.txt``) and output-first
(``instances_output_first.txt``, classification tasks).

Like the instruction parsers in ``parsing.py`` they read English and Chinese markers interchangeably and drop
what they cannot attribute. A reply cut at max_tokens loses the instance it ends in, as the original's
prepare_for_finetuning.py does: a cut-off input or output must never reach the pool.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from selfinstruct.parsing import (
    _CLOSE,
    _COLON,
    _INSTANCE_NOTE,
    _LEAD,
    _NUM,
    _at,
    _block,
    _field_re,
    _lines,
    _na,
    _strip_quotes,
    _unwrap_fence,
    normalize_whitespace,
)
from selfinstruct.reasoning import strip_reasoning
from selfinstruct.tasks import Instance

_INPUT_LABEL = _field_re("input|输入")
_OUTPUT_LABEL = _field_re("output|输出")
_CLASS_LABEL = _field_re(r"class\s*label|label|class|category|类别标签|类别|标签|分类")
_COMMENT_LABEL = _field_re(r"explanations?|reason(?:ing)?|rationale|notes?|解释|说明|理由|注")
_EXAMPLE_LINE = re.compile(
    _LEAD + r"(?:example|instance|示例|例子|样例|例)\s*(?:#\s*)?" + _NUM + r"(?:\s*(?:[:：.)]|\*\*|__))*\s*",
    re.IGNORECASE,
)
_TASK_LINE = re.compile(_LEAD + r"(?:task|任务)(?:\s*\d+)?" + _CLOSE + _COLON, re.IGNORECASE)


def _example_rest(line: str) -> str | None:
    """The rest of an "Example 2" line, or None when the line is ordinary text that merely starts with it."""
    m = _at(_EXAMPLE_LINE, line)
    if not m:
        return None
    rest = line[m.end() :].strip()
    if not rest or rest[0] in "(（":
        return ""
    return rest if _at(_INPUT_LABEL, rest) or _at(_OUTPUT_LABEL, rest) else None


def parse_input_first(text: str, *, truncated: bool = False) -> list[Instance]:
    """Instances from a response to ``instances_input_first.txt``: Example / Input / Output blocks.

    An example without an output (cut off) is skipped; parsing stops when the model starts another "Task:".
    ``truncated``: the response hit the token limit, so the instance it ends in is incomplete and is dropped
    (as the original's prepare_for_finetuning.py does); a response that ends in notes after the last
    instance loses nothing.
    """
    text = strip_reasoning(text)
    out: list[Instance] = []
    cur_in: list[str] | None = None
    cur_out: list[str] | None = None
    field: list[str] | None = None
    seen = False
    prev_blank = False
    stopped = False

    def flush() -> None:
        if cur_out is not None:
            out.append(Instance(input=_na(_block(cur_in or [])), output=_block(cur_out)))

    for raw in _unwrap_fence(_lines(text)):
        line, blank = raw, not raw.strip()
        rest = _example_rest(line)
        if rest is not None:
            flush()
            cur_in = cur_out = field = None
            seen = True
            line = rest
            if not rest:
                prev_blank = blank
                continue
        if _at(_TASK_LINE, line):
            if seen:
                stopped = True
                break
            continue  # the model echoed the task before its examples
        m_in, m_out = _at(_INPUT_LABEL, line), _at(_OUTPUT_LABEL, line)
        if m_in:
            if cur_in is not None or cur_out is not None:
                flush()
                cur_out = None
            cur_in = field = [line[m_in.end() :]]
            seen = True
        elif m_out:
            if cur_out is not None:
                flush()
                cur_in = None
            cur_out = field = [line[m_out.end() :]]
            seen = True
        elif prev_blank and seen and _INSTANCE_NOTE.match(line):
            stopped = True
            break
        elif field is not None:
            field.append(line)
        prev_blank = blank
    return _flush_last(out, flush, truncated and not stopped)


def _flush_last(out: list[Instance], flush: Callable[[], None], cut: bool) -> list[Instance]:
    """Flush the block the response ends in; when the response was cut there, that instance is dropped."""
    complete = len(out)
    flush()
    return out[:complete] if cut else out


def _clean_label(text: str) -> str:
    return _strip_quotes(normalize_whitespace(text.replace("**", ""))).rstrip(".。")


def parse_output_first(text: str, *, truncated: bool = False) -> list[Instance]:
    """Instances from a response to ``instances_output_first.txt``: each input gets the label above it.

    As in the original, everything under a class label up to the next one is its input, whatever the model
    calls it: ``Input:``, or ``Sentence:``/``Review:``/``Problem: ... Proposed answer: ...`` (kept as
    written). A label with no input at all is an instance with an empty input (a classification task that
    needs none, e.g. "Class label: Montreal"); when other labels of the reply do have inputs, such a label
    is one the model forgot to give an input and is dropped. Text under a label that is followed by an
    ``Input:`` line was commentary, not an input. ``Output:``/``Explanation:``/``Note:`` lines after an
    input, and what follows them up to the next label or input, are not input.

    ``truncated``: the instance the response ends in is incomplete (its input or label may be cut) and is
    dropped.
    """
    text = strip_reasoning(text)
    out: list[Instance] = []
    label = ""
    label_used = False  # the current label has produced an instance
    cur_in: list[str] | None = None
    labelled = False  # cur_in began at an "Input:" marker
    skipping = False  # after an Output:/Explanation: line, until the next label or input
    seen = False
    prev_blank = False
    stopped = False

    def flush(label_only: bool = False) -> None:
        nonlocal label_used
        if label and cur_in is not None:
            out.append(Instance(input=_na(_block(cur_in)), output=label))
            label_used = True
        elif label and label_only and not label_used:
            out.append(Instance(input="", output=label))
            label_used = True

    for line in _unwrap_fence(_lines(text)):
        blank = not line.strip()
        m_label, m_in = _at(_CLASS_LABEL, line), _at(_INPUT_LABEL, line)
        if _at(_TASK_LINE, line):
            if seen:
                stopped = True
                break
        elif m_label:
            flush(label_only=True)
            label, label_used, cur_in, skipping, seen = _clean_label(line[m_label.end() :]), False, None, False, True
        elif m_in:
            if labelled:
                flush()  # a second input under the same label keeps that label
            cur_in, labelled, skipping, seen = [line[m_in.end() :]], True, False, True
        elif prev_blank and seen and _INSTANCE_NOTE.match(line):
            stopped = True
            break
        elif _example_rest(line) == "":
            pass  # an "Example 2" header between pairs
        elif _at(_OUTPUT_LABEL, line) or _at(_COMMENT_LABEL, line):
            flush()  # not part of the input; the label above is the output
            cur_in, skipping = None, True
        elif skipping:
            pass
        elif cur_in is not None:
            cur_in.append(line)
        elif seen and not label and not blank and _example_rest(line) is None:
            label = _clean_label(line)  # "Class label:" with the label on the next line
        elif label and not blank and _example_rest(line) is None:
            cur_in, labelled = [line], False  # an input under a label of its own ("Sentence: ...")
        prev_blank = blank
    complete = len(out)
    flush(label_only=True)
    if truncated and not stopped:
        out = out[:complete]
    if any(i.input for i in out):
        out = [i for i in out if i.input]
    return out
