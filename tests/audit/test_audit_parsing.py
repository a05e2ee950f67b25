"""Reading a judge's verdict: JSON or labelled lines are read exactly; anything incomplete is unreadable."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from selfinstruct.audit.verdicts import Verdict, read_verdict


def verdict_of(valid: bool, appropriate: bool, correct: bool, score: float, reason: str) -> Verdict:
    """A verdict on the paper's three questions, in their order."""
    answers = {"valid_instruction": valid, "appropriate_input": appropriate, "correct_output": correct}
    return Verdict(answers, score, reason)


verdicts = st.builds(
    verdict_of,
    valid=st.booleans(),
    appropriate=st.booleans(),
    correct=st.booleans(),
    score=st.integers(0, 10).map(lambda k: k / 2 if k % 2 else k // 2),  # AlpaGasus's 0-5 with halves
    reason=st.text(
        st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp"), blacklist_characters="*"), max_size=80
    ).map(lambda s: " ".join(s.split())),
)
chatter = st.sampled_from(["", "Sure, here is my verdict:\n", "```json\n", "Verdict:\n\n"])


def _yn(value: bool, style: int) -> object:
    return [value, "yes" if value else "no", "Yes" if value else "No", "true" if value else "false"][style % 4]


@given(verdicts, chatter, st.integers(0, 3), st.booleans())
def test_json_verdict_round_trips(verdict: Verdict, before: str, style: int, score_as_text: bool) -> None:
    obj = {
        "valid_instruction": _yn(verdict.answers["valid_instruction"], style),
        "appropriate_input": _yn(verdict.answers["appropriate_input"], style + 1),
        "correct_output": _yn(verdict.answers["correct_output"], style + 2),
        "score": str(verdict.score) if score_as_text else verdict.score,
        "reason": verdict.reason,
    }
    after = "\n```" if before.startswith("```") else ""
    reading = read_verdict(before + json.dumps(obj, ensure_ascii=style % 2 == 0) + after)
    assert reading.verdict == verdict


@given(
    verdicts,
    st.sampled_from(["{label}: {value}", "**{label}:** {value}", "- {label}: {value}", "{n}. {label}: {value}"]),
)
def test_plain_text_verdict_round_trips(verdict: Verdict, layout: str) -> None:
    rows = [
        ("Valid instruction", "Yes" if verdict.answers["valid_instruction"] else "No"),
        ("Appropriate input", "yes" if verdict.answers["appropriate_input"] else "no"),
        ("Correct output", "Yes." if verdict.answers["correct_output"] else "No."),
        ("Score", f"{verdict.score}/5"),
        ("Reason", verdict.reason),
    ]
    text = "\n".join(layout.format(label=label, value=value, n=n) for n, (label, value) in enumerate(rows, 1))
    assert read_verdict(text).verdict == verdict


@given(st.text(max_size=300), st.sampled_from(["stop", "length", "empty"]))
def test_never_raises_and_never_invents(text: str, finish: str) -> None:
    reading = read_verdict(text, finish)
    assert (reading.verdict is None) == bool(reading.why)
    if reading.verdict is not None:  # arbitrary text only yields a verdict if it states every field
        lowered = text.lower()
        assert "score" in lowered or "评分" in text or "总分" in text or "分数" in text or "rating" in lowered


def test_chinese_labels_and_values() -> None:
    text = "有效指令：是\n输入恰当：是的\n输出正确：否\n评分：3分\n理由：输出漏掉了第二个要求。"
    assert read_verdict(text).verdict == Verdict(
        {"valid_instruction": True, "appropriate_input": True, "correct_output": False}, 3, "输出漏掉了第二个要求。"
    )


def test_echoed_task_before_the_answers_is_not_an_answer() -> None:
    text = (
        "Instruction: Write a haiku.\nInput: (none)\nOutput: Leaves fall...\n\n"
        "Valid instruction: yes\nAppropriate input: yes\nCorrect output: yes\nScore: 5\nReason: A fine haiku."
    )
    assert read_verdict(text).verdict == Verdict(
        {"valid_instruction": True, "appropriate_input": True, "correct_output": True}, 5, "A fine haiku."
    )


def test_an_echoed_task_object_is_skipped_for_the_verdict_object() -> None:
    text = (
        '{"instruction": "Write a haiku.", "input": "", "output": "Leaves fall"}\n'
        '{"valid_instruction": "yes", "appropriate_input": "yes", "correct_output": "no", "score": 2, "reason": "x"}'
    )
    assert read_verdict(text).verdict == Verdict(
        {"valid_instruction": True, "appropriate_input": True, "correct_output": False}, 2, "x"
    )


@pytest.mark.parametrize(
    ("text", "finish", "why"),
    [
        ("", "stop", "empty"),
        ("   \n", "stop", "empty"),
        ("I'm sorry, but I can't help with evaluating this content.", "stop", "refusal"),
        ("As an AI language model, I cannot judge this.", "stop", "refusal"),
        ("抱歉，我无法评价这个任务。", "stop", "refusal"),
        ('{"valid_instruction": "yes", "appropriate_input": "yes", "correct_output": "yes", "score": 4', "length",
         "truncated"),
        ("Valid instruction: yes\nAppropriate input: yes\nCorrect output: yes\nScore: 4\nReason: Clear an", "length",
         "truncated"),
        ('{"valid_instruction": "yes", "appropriate_input": "yes", "correct_output": "yes"}', "stop",
         "no verdict: score missing"),
        ('{"valid_instruction": "maybe", "appropriate_input": "yes", "correct_output": "yes", "score": 3}', "stop",
         "not yes or no"),
        ('{"valid_instruction": true, "appropriate_input": true, "correct_output": true, "score": 7}', "stop",
         "not a number from 0 to 5"),
        ('{"valid_instruction": true, "appropriate_input": true, "correct_output": true, "score": 5.5}', "stop",
         "not a number from 0 to 5"),
        ('{"valid_instruction": true, "appropriate_input": true, "correct_output": true, "score": -1}', "stop",
         "not a number from 0 to 5"),
        ("Valid instruction: yes\nAppropriate input: yes\nCorrect output: yes\nScore: 4.5 out of 10", "stop",
         "not a number from 0 to 5"),
        ("The task looks fine overall and the output is good.", "stop", "neither JSON nor labelled lines"),
        ("Valid instruction: yes\nScore: 4", "stop", "appropriate_input missing"),
    ],
)  # fmt: skip
def test_unreadable_replies_say_why(text: str, finish: str, why: str) -> None:
    reading = read_verdict(text, finish)
    assert reading.verdict is None and why in reading.why


def test_complete_json_in_a_cut_off_reply_is_still_read() -> None:
    text = (
        '{"valid_instruction": "no", "appropriate_input": "yes", "correct_output": "no", "score": 1, "reason": "r"}\n'
    )
    assert read_verdict(text + "Additionally, the", "length").verdict == Verdict(
        {"valid_instruction": False, "appropriate_input": True, "correct_output": False}, 1, "r"
    )


def test_a_verdict_that_starts_with_an_apology_is_still_a_verdict() -> None:
    text = "I'm sorry, but the output is wrong.\nValid instruction: yes\nAppropriate input: yes\n"
    text += "Correct output: no\nScore: 2"
    assert read_verdict(text).verdict == Verdict(
        {"valid_instruction": True, "appropriate_input": True, "correct_output": False}, 2, ""
    )


def test_answers_nested_one_level_are_read() -> None:
    text = '{"answers": {"Valid instruction": true, "Appropriate input": "yes", "Correct output": false}, "Score": "4"}'
    assert read_verdict(text).verdict == Verdict(
        {"valid_instruction": True, "appropriate_input": True, "correct_output": False}, 4, ""
    )


def test_top_level_answers_win_over_an_echoed_nested_task() -> None:
    text = (
        '{"task": {"instruction": "Write a haiku.", "input": "", "output": "Leaves"}, "valid_instruction": "no", '
        '"appropriate_input": "yes", "correct_output": "no", "score": 1, "reason": "r"}'
    )
    assert read_verdict(text).verdict == Verdict(
        {"valid_instruction": False, "appropriate_input": True, "correct_output": False}, 1, "r"
    )


@pytest.mark.parametrize(
    ("text", "score"),
    [
        ('{"valid_instruction": "yes", "appropriate_input": "yes", "correct_output": "yes", "score": 4.5}', 4.5),
        ('{"valid_instruction": "yes", "appropriate_input": "yes", "correct_output": "yes", "score": "4.5/5"}', 4.5),
        ('{"valid_instruction": "no", "appropriate_input": "no", "correct_output": "no", "score": 0}', 0),
        ("Valid instruction: yes\nAppropriate input: yes\nCorrect output: no\nScore: 3.5 out of 5", 3.5),
        ("有效指令：是\n输入恰当：是\n输出正确：是\n评分：4.5分", 4.5),
    ],
)
def test_alpagasus_scale_half_points_and_zero_are_read(text: str, score: float) -> None:
    """Issue 21 #9: AlpaGasus's threshold is 4.5 on a 0-5 scale; a whole-number-only judge made it "only 5s"."""
    verdict = read_verdict(text).verdict
    assert verdict is not None and verdict.score == score
