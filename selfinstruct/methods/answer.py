"""The answering step of the methods that write an instruction first and its answer after (Magpie,
Evol-Instruct): the instruction alone as the user turn of a chat request, whatever --api the endpoint has
(the step's StepParams.api), so an aligned model answers it as a user's question.

An answer that is empty, cut at max_tokens or a refusal is never written: the candidate is rejected with that
reason, at the "instances" stage, so that the stop rules count it (a model that refuses everything stops the
run as unusable) and `stats` shows it.
"""

from __future__ import annotations

from collections.abc import Callable

from selfinstruct.engine.types import StepParams
from selfinstruct.filters import Rejection
from selfinstruct.methods.base import Candidate, Run
from selfinstruct.tasks import Instance
from selfinstruct.text import is_refusal

ANSWER_STEP = "answer"  # one step for every method that answers: its params and usage are under this name
STAGE = "instances"  # the answer is the task's one instance


def answer_params(*, local: bool) -> dict[str, StepParams]:
    """The answer step's defaults: Magpie answers greedily (temperature 0); the embedded 135M model loops when
    greedy, so it samples a little, and gets a shorter budget."""
    if local:
        return {ANSWER_STEP: StepParams(temperature=0.7, top_p=0.9, max_tokens=400, api="chat")}
    return {ANSWER_STEP: StepParams(temperature=0.0, top_p=1.0, max_tokens=2048, api="chat")}


# Why a reply is not an answer, for `respond` (answers.jsonl's "why") and the answer step (its rejection codes).
TRUNCATED, EMPTY, REFUSAL = "truncated", "empty", "refusal"
_REJECTIONS = {
    TRUNCATED: ("answer_truncated", "the answer was cut at max_tokens"),
    EMPTY: ("answer_empty", "the model returned no text"),
    REFUSAL: ("answer_refused", "the model declined to answer"),
}


def why_not_an_answer(text: str, finish_reason: str) -> str | None:
    """None when a reply is an answer; else why not, in one order for every command: cut at max_tokens first
    (also when no visible text came back: the tokens went somewhere, often a reasoning model's hidden thinking,
    and the fix is a larger --max-tokens), then empty, then a refusal."""
    if finish_reason == "length":
        return TRUNCATED
    if not text.strip() or finish_reason == "empty":
        return EMPTY
    if is_refusal(text):
        return REFUSAL
    return None


def answer_problem(text: str, finish_reason: str) -> Rejection | None:
    """Why an answer cannot be kept (why_not_an_answer, as the answer step's rejection), or None."""
    why = why_not_an_answer(text, finish_reason)
    if why is None:
        return None
    reason, detail = _REJECTIONS[why]
    return Rejection("answer", reason, f"{detail} (finish_reason={finish_reason})")


async def answer(
    run: Run, request: int, cand: Candidate, extra: Callable[[str], Rejection | None] | None = None
) -> None:
    """Ask the model to answer `cand`'s instruction; set its one instance (input "", output the answer) or its
    rejection (`extra`: a method's own rules for the answer). The request's seed is the run's for (request,
    step): one answer per generating request."""
    instruction = cand.instruction
    reply = await run.generate(ANSWER_STEP, request, lambda _shorten: instruction, run.params(ANSWER_STEP))
    problem = answer_problem(reply.text, reply.finish_reason)
    if problem is None and extra is not None:
        problem = extra(reply.text)
    if problem is not None:
        cand.stage, cand.rejection, cand.raw = STAGE, problem, reply.text
        return
    cand.instances = [Instance("", reply.text.strip())]
