"""The parser of output-first instance replies (``instances_output_first.txt``): classification tasks, each input
under the class label it belongs to.

It reads English and Chinese markers (``instance_markers.py``) interchangeably, a "Task:" line as the input-first
parser does (``instance_parsing._task_role``), and drops what it cannot attribute. A reply cut at max_tokens loses
the instance it ends in, as the original's prepare_for_finetuning.py does.
"""

from __future__ import annotations

from selfinstruct.engine.reasoning import strip_reasoning
from selfinstruct.methods.self_instruct.instance_markers import (
    _CANONICAL_CLASS_LABEL,
    _CLASS_LABEL,
    _COMMENT_LABEL,
    _INPUT_LABEL,
    _OUTPUT_LABEL,
    _TASK_LINE,
    _example_rest,
    _plain_label,
)
from selfinstruct.methods.self_instruct.instance_parsing import _task_role
from selfinstruct.methods.self_instruct.parsing import (
    _INSTANCE_NOTE,
    _at,
    _block,
    _fence_pairs,
    _lines,
    _na,
    _strip_quotes,
    _unwrap_fence,
    normalize_whitespace,
)
from selfinstruct.tasks import Instance


def _starts_output_first(line: str) -> bool:
    return bool(_example_rest(line) is not None or _at(_CLASS_LABEL, line) or _at(_INPUT_LABEL, line))


def _clean_label(text: str) -> str:
    return _strip_quotes(normalize_whitespace(text.replace("**", ""))).rstrip(".。")


def parse_output_first(text: str, *, truncated: bool = False, task_tail: bool | None = True) -> list[Instance]:
    """Instances from a response to ``instances_output_first.txt``: each input gets the label above it.

    As in the original, everything under a class label up to the next one is its input, whatever the model
    calls it: ``Input:``, or ``Sentence:``/``Review:``/``Problem: ... Proposed answer: ...`` (kept as
    written). A label with no input at all is an instance with an empty input (a classification task that
    needs none, e.g. "Class label: Montreal"); when other labels of the reply do have inputs, such a label
    is one the model forgot to give an input and is dropped. A reply that writes ``Class label:`` has only
    those as labels (a "Category: ..." line is input text). Text under a label that is followed by an
    ``Input:`` line was commentary, not an input. An ``Output:`` line that repeats a label and
    ``Explanation:``/``Note:`` lines after an input, and what follows them up to the next label or input, are
    not input; an ``Output:`` line with anything else is a field of the input ("Program: ...", "Output: 4").

    ``truncated``: the instance the response ends in is incomplete (its input or label may be cut) and is
    dropped. A "Task:" line is read as in ``parse_input_first`` (``task_tail`` likewise).
    """
    lines = _unwrap_fence(_lines(strip_reasoning(text)))
    # The original's marker first: when the reply writes "Class label:", a "Category:" line is input text.
    canonical = any(_at(_CANONICAL_CLASS_LABEL, line) for line in lines)
    label_re = _CANONICAL_CLASS_LABEL if canonical else _CLASS_LABEL
    names = {_clean_label(line[m.end() :]).lower() for line in lines if (m := _at(label_re, line))} - {""}

    def _names_label(rest: str) -> bool:
        """Whether an "Output:" line repeats a label ("Output: Positive (it praises the food)")."""
        value = _clean_label(rest).lower()
        return any(value == n or (value.startswith(n) and not value[len(n)].isalnum()) for n in names)

    out: list[Instance] = []
    label = ""
    label_used = False  # the current label has produced an instance
    cur_in: list[str] | None = None
    labelled = False  # cur_in began at an "Input:" marker
    skipping = False  # after an Output:/Explanation: line, until the next label or input
    seen = False
    prev_blank = False
    stopped = ambiguous = False

    def flush(label_only: bool = False) -> None:
        nonlocal label_used
        if label and cur_in is not None:
            out.append(Instance(input=_na(_block([_plain_label(line) for line in cur_in])), output=label))
            label_used = True
        elif label and label_only and not label_used:
            out.append(Instance(input="", output=label))
            label_used = True

    fences = _fence_pairs(lines)
    code_until = -1
    for i, line in enumerate(lines):
        blank = not line.strip()
        if cur_in is not None and (i <= code_until or i in fences):
            code_until = max(code_until, fences.get(i, -1))
            cur_in.append(line)  # code in an input: its "Output:" or "# Note:" lines are code
            continue
        m_label, m_in = _at(label_re, line), _at(_INPUT_LABEL, line)
        role = _task_role(lines, i, task_tail, _starts_output_first) if seen and _at(_TASK_LINE, line) else None
        if role is not None and role != "text":
            stopped, ambiguous = role == "new", role == "cut"
            break
        if _at(_TASK_LINE, line) and not seen:
            pass  # the model echoed the task before its labels
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
        elif (m_out := _at(_OUTPUT_LABEL, line)) and cur_in is not None and not _names_label(line[m_out.end() :]):
            cur_in.append(line)  # "Program: ...\nOutput: 4": a field of the input, as in the original
        elif m_out or _at(_COMMENT_LABEL, line):
            flush()  # the label repeated, or an explanation: not part of the input; the label above is the output
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
    if (truncated or ambiguous) and not stopped:
        out = out[:complete]
    if any(i.input for i in out):
        out = [i for i in out if i.input]
    return out
