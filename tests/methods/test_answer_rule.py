"""One rule for "this reply is not an answer", shared by `respond` (answers.jsonl's "why") and the answer step of
generate's methods (its rejection codes): the same reply gets the same label in both, in one order (cut first,
then empty, then refused)."""

from __future__ import annotations

import pytest

from selfinstruct.engine.types import Completion
from selfinstruct.methods.answer import answer_problem
from selfinstruct.pipeline.respond.plan import why_not_an_answer

CASES = [
    ("", "length", "truncated"),  # nothing visible, but the budget was spent (a reasoning model's thinking)
    ("   ", "length", "truncated"),
    ("I'm sorry, but I can't", "length", "truncated"),
    ("The first half of an ans", "length", "truncated"),
    ("", "stop", "empty"),
    ("\n\t", "stop", "empty"),
    ("Some text", "empty", "empty"),
    ("I'm sorry, but I can't help with that.", "stop", "refusal"),
    ("Bake it at 220 C for 30 minutes.", "stop", None),
]


@pytest.mark.parametrize(("text", "finish", "why"), CASES)
def test_respond_and_the_answer_step_label_a_reply_alike(text: str, finish: str, why: str | None) -> None:
    assert why_not_an_answer(Completion(text, finish, 3, 5)) == why
    problem = answer_problem(text, finish)
    codes = {"truncated": "answer_truncated", "empty": "answer_empty", "refusal": "answer_refused"}
    assert (problem.reason if problem else None) == (codes[why] if why else None)
    assert problem is None or f"finish_reason={finish}" in problem.detail
