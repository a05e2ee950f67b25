"""The parser of input-first instance replies (``instances_input_first.txt``), and how a "Task:" line inside an
instance reply is read (shared with ``output_first.py``, the parser of classification tasks' replies).

Like the instruction parsers in ``parsing.py`` they read English and Chinese markers (``instance_markers.py``)
interchangeably and drop what they cannot attribute. A reply cut at max_tokens loses the instance it ends in,
as the original's prepare_for_finetuning.py does: a cut-off input or output must never reach the pool.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from selfinstruct.engine.reasoning import strip_reasoning
from selfinstruct.methods.self_instruct.instance_markers import (
    _EXAMPLES_HEADING,
    _FIRST_EXAMPLE,
    _INLINE_INPUT,
    _INLINE_OUTPUT,
    _INPUT_LABEL,
    _OUTPUT_LABEL,
    _PAIR_GLUE,
    _TASK_LINE,
    _code_indented,
    _example_rest,
    _field_name,
    _plain_label,
)
from selfinstruct.methods.self_instruct.parsing import (
    _FENCE,
    _HEADING,
    _INSTANCE_NOTE,
    _RULE,
    _at,
    _fence_pairs,
    _field_re,
    _field_text,
    _is_chatter,
    _lines,
    _na,
    _unwrap_fence,
)
from selfinstruct.tasks import Instance


@dataclass
class _Example:
    input: list[str] = field(default_factory=list)
    output: list[str] | None = None
    labelled: bool = False  # the input began at an "Input:" marker

    def has_input(self) -> bool:
        return any(line.strip() for line in self.input)


def _from_named_paragraph(lines: list[str]) -> list[str]:
    """An unlabelled input from its first paragraph that starts with a field name ("Sentence: ..."): paragraphs
    before it are a remark ("I'll show a casual one.") or the task read back, not the input."""
    starts = [i for i, line in enumerate(lines) if line.strip() and (i == 0 or not lines[i - 1].strip())]
    named = [i for i in starts if _field_name(lines[i])]
    return lines[named[0] :] if named and named[0] != starts[0] else lines


def _split_inline(example: _Example) -> _Example | None:
    """An example without an ``Output:`` line split where the original splits, at ``Output:`` anywhere
    ("Input: 2 hours → Output: 120 minutes"), its output cut at an ``Input:`` after it; None without one."""
    text = "\n".join(example.input)
    m = _INLINE_OUTPUT.search(text)
    if not m:
        return None
    out = _unbold(text[m.end() :].lstrip(), start=True)
    out = _unglue(out[: m_in.start()]) if (m_in := _INLINE_INPUT.search(out)) else out
    return _Example(_unglue(text[: m.start()]).split("\n"), out.split("\n"), example.labelled)


def _unbold(text: str, *, start: bool = False) -> str:
    """``text`` without the bold marker a label on the same line left at its start (or end)."""
    for mark in ("**", "__"):
        if start and text.startswith(mark):
            return text[2:].lstrip()
        if not start and text.endswith(mark):
            return text[:-2].rstrip()
    return text


def _unglue(text: str) -> str:
    """An input without what a model puts between it and "Output:" on one line ("hey | Output: ...")."""
    text = _unbold(text.rstrip())
    for glue in _PAIR_GLUE:
        if text.endswith(glue) and len(text) > len(glue):
            return text[: -len(glue)].rstrip()
    return text


class _InputFirst:
    """The examples read so far from one input-first reply, and the example being read."""

    def __init__(self, per_example: bool) -> None:
        self.per_example = per_example  # the reply puts a header before each example: its labels inside are text
        self.out: list[Instance] = []
        self.cur: _Example | None = None
        self.in_block = False  # inside an example opened by a header, in a reply with a header per example
        self.input_name: re.Pattern[str] | None = None

    def flush(self) -> None:
        cur, self.cur = self.cur, None
        if cur is not None and cur.output is None:
            cur = _split_inline(cur)
        if cur is not None and cur.output is not None:
            lines = cur.input if cur.labelled else _from_named_paragraph(cur.input)
            text = _field_text([_plain_label(line) for line in lines])
            self.out.append(Instance(input=_na(text), output=_field_text(cur.output)))

    def header(self) -> None:
        self.flush()
        self.cur, self.in_block = _Example(), self.per_example

    def start_output(self, rest: str) -> None:
        cur = self.cur = self.cur or _Example()
        cur.output = [rest]
        lines = cur.input if cur.labelled else _from_named_paragraph(cur.input)
        name = _field_name(next((line for line in lines if line.strip()), ""))
        if self.input_name is None and not cur.labelled and name:
            self.input_name = _field_re(re.escape(name))

    def repeats_output(self, rest: str) -> bool:
        """An "Output:" line that says again what the current output's first line says: a small model stuck in a
        loop ("Output: X\\nOutput: X\\n..." until max_tokens), not a second answer."""
        cur = self.cur
        first = next((line.strip() for line in cur.output if line.strip()), "") if cur and cur.output else ""
        return bool(first) and rest.strip() == first

    def output_label(self, rest: str) -> bool:
        """Handle an "Output:" line; False when it is text of the current output."""
        cur = self.cur
        if cur is None or cur.output is None:
            self.start_output(rest)
        elif not self.in_block and not cur.has_input():
            self.flush()  # outputs of a task without input, one after another
            self.start_output(rest)
        else:
            return False
        return True

    def input_label(self, line: str, rest: str | None, after_blank: bool) -> bool:
        """Handle an "Input:" line (``rest`` is its text) or a line under the first input's field name (``rest``
        None, kept as written); False when it is text of the current field."""
        cur = self.cur
        if cur is not None and cur.output is None:
            if rest is None:
                return False
            chatter = all(not p.strip() or _is_chatter(p) or _HEADING.match(p) or _at(_EXAMPLES_HEADING, p.rstrip())
                          for p in cur.input)  # fmt: skip
            if not (cur.labelled or chatter or after_blank):
                return False  # "Context: ...\nInput: ..." is one input, as in the original
            self.flush()  # a pair on one line ("Input: a → Output: b"), or an input left without output
        elif cur is not None and self.in_block:
            return False  # a header marks each example, so an "Input:" line in an output is its text
        else:
            self.flush()
        self.cur = _Example([rest if rest is not None else line], labelled=rest is not None)
        return True

    def text(self, line: str) -> None:
        cur = self.cur
        if cur is None:
            s = line.strip()
            if s and not (_is_chatter(s) or _HEADING.match(s) or _RULE.match(s) or _at(_EXAMPLES_HEADING, s)):
                self.cur = _Example([line])  # an input under a field name of its own, or none at all
        elif cur.output is not None:
            cur.output.append(line)
        else:
            cur.input.append(line)


def parse_input_first(text: str, *, truncated: bool = False, task_tail: bool | None = True) -> list[Instance]:
    """Instances from a response to ``instances_input_first.txt``: Example / Input / Output blocks.

    The original's rule first: everything between an example's header and its first ``Output:`` line is the
    input, labelled or not ("Sentence: ...", "句子：...", several fields), with a leading ``Input:`` removed.
    When the reply puts a header before each example, ``Input:``/``Output:`` lines inside an output are its
    text (a program's sample run, a shell answer "Output: 5"); without headers an ``Input:`` line, or a line
    under the field name the first input used, starts the next example, and further ``Output:`` lines start
    new examples only for a task without input. Labels inside a code fence or an indented code line are code.
    Then ours: bold, bullets, headings, chat greetings and closing notes. Parsing stops at a "Task:" line only
    where a new task begins (``_task_role``); other "Task:" lines are text ("Task: buy milk" in a to-do list).
    ``task_tail`` says what a "Task:" line that ends the reply is (see stopcut.task_tail): True a new task (the
    default, for a caller who does not know), False text, None unknown, and then the reply is treated as cut.

    ``truncated``: the response hit the token limit, so the instance it ends in is incomplete and is dropped
    (as the original's prepare_for_finetuning.py does); a response that ends in notes after the last
    instance loses nothing.
    """
    lines = _unwrap_fence(_lines(strip_reasoning(text)))
    labels = [bool(_at(_INPUT_LABEL, line) or _at(_OUTPUT_LABEL, line)) for line in lines]
    first = next((i for i, line in enumerate(lines) if labels[i] or _example_rest(line, bare=True) is not None), 0)
    bare = bool(lines) and _example_rest(lines[first]) is None and _example_rest(lines[first], bare=True) == ""
    rests = [_example_rest(line, bare=bare) for line in lines]  # "Example:" heads examples only if it heads the first
    state = _InputFirst(_per_example(rests, labels))
    fences = _fence_pairs(lines)
    pair_ahead = _output_ahead(lines, rests)
    code_until = -1
    seen = prev_blank = stopped = ambiguous = False
    for i, line in enumerate(lines):
        blank = not line.strip()
        if i <= code_until:
            state.text(line)
            continue
        if _FENCE.match(line):
            if i in fences and state.cur is not None:
                code_until = fences[i]  # a fenced block inside a field: its lines are text, whatever they say
                state.text(line)
            continue  # otherwise a fence around several examples, or a stray one
        rest = rests[i]
        if rest is not None:
            state.header()
            seen = True
            line = rest
            if not rest:
                prev_blank = blank
                continue
        if _at(_TASK_LINE, line) and not seen:
            continue  # the model echoed the task before its examples
        if _at(_TASK_LINE, line) and (role := _task_role(lines, i, task_tail, _starts_input_first)) != "text":
            stopped = role == "new"
            ambiguous = role == "cut"
            break
        if prev_blank and seen and _INSTANCE_NOTE.match(line):
            stopped = True
            break
        structural = not (state.cur and state.cur.output is not None and _code_indented(line))
        m_in, m_out = _at(_INPUT_LABEL, line), _at(_OUTPUT_LABEL, line)
        named = state.input_name is not None and state.cur is not None and state.cur.output is not None
        named = named and pair_ahead[i]  # "Sentence: ..." starts an example only if an Output: line follows
        if m_out and state.repeats_output(line[m_out.end() :]):
            stopped = True  # the model is looping on its answer: the example above is complete, the rest is noise
            break
        if named and not m_in and not m_out and state.input_name and _at(state.input_name, line):
            handled = structural and state.input_label(line, None, prev_blank)
        elif m_out:
            handled = structural and state.output_label(line[m_out.end() :])
        elif m_in:
            handled = structural and state.input_label(line, line[m_in.end() :], prev_blank)
        else:
            handled = False
        if handled:
            seen = True
        else:
            state.text(line)
        prev_blank = blank
    cut = (truncated or ambiguous) and not stopped
    out = _flush_last(state.out, state.flush, cut)
    body = [i for i, line in enumerate(lines) if line.strip()]
    if cut and body and rests[body[-1]] == "":
        return out[:-1]  # a reply cut right at "Example 3" may have been cut in a line of the output above it
    return out


TaskRole = Literal["new", "text", "cut"]


def _task_role(lines: list[str], i: int, task_tail: bool | None, starts: Callable[[str], bool]) -> TaskRole:
    """What the "Task:" line ``lines[i]`` is: "new" when a new task begins there (its first example's header
    follows, or, after a blank line as the prompt puts one before each task, its first label: ``starts``),
    "text" when it is a line of the current field, "cut" when it ends the reply right under a line of an output
    and ``task_tail`` is unknown (a to-do list's last line, or a new task written without its blank line)."""
    j = next((k for k in range(i + 1, len(lines)) if lines[k].strip()), None)
    after_blank = i == 0 or not lines[i - 1].strip()
    if j is None:  # unknown: after a blank line, where the prompt puts each task, a new one; else maybe a cut
        return "new" if task_tail or (task_tail is None and after_blank) else "text" if task_tail is False else "cut"
    return "new" if _at(_FIRST_EXAMPLE, lines[j]) or (after_blank and starts(lines[j])) else "text"


def _starts_input_first(line: str) -> bool:
    return bool(_example_rest(line) is not None or _at(_INPUT_LABEL, line) or _at(_OUTPUT_LABEL, line))


def _per_example(rests: list[str | None], labels: list[bool]) -> bool:
    """Whether the reply puts a header before each example: it has two, or one before its first label (a reply
    cut inside its first example must read that example the way the whole reply would be read)."""
    kinds = [
        "header" if rest is not None else "label"
        for rest, label in zip(rests, labels, strict=True)
        if rest is not None or label
    ]
    return kinds.count("header") >= 2 or kinds[:1] == ["header"]


def _output_ahead(lines: list[str], rests: list[str | None]) -> list[bool]:
    """For each line, whether an ``Output:`` line follows it before the next example header or task."""
    ahead = [False] * len(lines)
    for i in range(len(lines) - 2, -1, -1):
        nxt = lines[i + 1]
        boundary = rests[i + 1] is not None or _at(_TASK_LINE, nxt)
        ahead[i] = bool(_at(_OUTPUT_LABEL, nxt)) or (not boundary and ahead[i + 1])
    return ahead


def _flush_last(out: list[Instance], flush: Callable[[], None], cut: bool) -> list[Instance]:
    """Flush the block the response ends in; when the response was cut there, that instance is dropped."""
    complete = len(out)
    flush()
    return out[:complete] if cut else out
