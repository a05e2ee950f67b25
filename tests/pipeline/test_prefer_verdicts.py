"""Reading a judge's rating or choice: JSON or labelled lines; anything missing, out of range or ambiguous is
unreadable with its reason, never guessed."""

from __future__ import annotations

import pytest

from selfinstruct.pipeline.prefer.verdicts import read_choice, read_rating


@pytest.mark.parametrize(
    ("text", "finish", "score", "why"),
    [
        ('{"score": 8, "reason": "Good."}', "stop", 8, ""),
        ('Sure.\n```json\n{"rating": "7/10", "explanation": "Fine."}\n```', "stop", 7, ""),
        ("**Score:** 6.5/10\n**Reason:** Mostly right.", "stop", 6.5, ""),
        ("评分：9分\n理由：很好。", "stop", 9, ""),
        ('{"score": 11}', "stop", None, "score '11' is not a number from 1 to 10"),
        ('{"score": 0}', "stop", None, "score '0' is not a number from 1 to 10"),
        ('{"score": 7.3}', "stop", None, "score '7.3' is not a number from 1 to 10"),
        ('{"score": true}', "stop", None, "score 'True' is not a number from 1 to 10"),
        ("I'm sorry, but I cannot rate this.", "stop", None, "refusal"),
        ("Score: 8\nReason: the answer is", "length", None, "truncated"),
        ('{"score": ', "stop", None, "no score"),
        ("", "stop", None, "empty"),
    ],
)
def test_read_rating(text: str, finish: str, score: float | None, why: str) -> None:
    rating = read_rating(text, finish, 10)
    assert (rating.score, rating.why) == (score, why)


def test_a_five_point_scale_refuses_six() -> None:
    assert read_rating('{"score": 6}', "stop", 5).score is None
    assert read_rating('{"score": 5, "reason": "Top."}', "stop", 5).score == 5


@pytest.mark.parametrize(
    ("text", "better", "why"),
    [
        ('{"better": "A", "reason": "A is right."}', "A", ""),
        ('{"winner": "Response B"}', "B", ""),
        ('{"better": "tie"}', "tie", ""),
        ("Better: b\nReason: shorter and correct.", "B", ""),
        ("更好：平局", "tie", ""),
        ('{"better": "both are bad"}', None, "choice 'both are bad' is not A, B or tie"),
        ("A is better.", None, "no choice"),
        ("I cannot compare these.", None, "refusal"),
    ],
)
def test_read_choice(text: str, better: str | None, why: str) -> None:
    choice = read_choice(text, "stop")
    assert (choice.better, choice.why) == (better, why)
