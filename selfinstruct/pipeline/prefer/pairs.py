"""Preference pairs from the judge's verdicts, by fixed rules; whatever the rules cannot decide is dropped with
its reason, never guessed.

Score mode: the best-rated answer of an instruction (several aspects: the best mean) is chosen; `best-worst`
pairs it with the lowest-rated one (the first of them in the answers' order), `best-each` with every answer
rated at least `margin` below it. A tie for best, or no answer `margin` below it, gives no pair.

Pairwise mode: two answers were compared in both orders. Only a pair the judge decided the same way in both
orders counts as a win (or a tie); one decided differently by order is order-dependent. The best answer has
the most wins (a tie for best: no pair); `best-worst` pairs it with the answer with the fewest, if it beat that
one in both orders; `best-each` with every answer it beat in both orders. A judge that names the same position
in at least BIASED of its non-tie verdicts (at least BIASED_MIN of them) prefers a position, not an answer:
none of its verdicts is used.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from selfinstruct.pipeline.prefer.plan import Question, QuestionKey, ResponseId, response_id
from selfinstruct.pipeline.prefer.scores import DIGITS

Aspects = Mapping[tuple[QuestionKey, ResponseId], dict[str, float]]

BIASED = 0.9
BIASED_MIN = 6
FEWER_THAN_TWO = "fewer than 2 answers"
FEWER_THAN_TWO_JUDGED = "fewer than 2 answers judged"
TIED_BEST = "tied for best"
BELOW_MARGIN = "no answer far enough below the best"
NOT_BEATEN = "the best did not beat the worst in both orders"
POSITION_BIASED = "position-biased judge"


@dataclass
class Pairing:
    """The pairs, the instructions that gave none (by reason), and in pairwise mode the judge's consistency."""

    pairs: list[dict[str, Any]] = field(default_factory=list)
    dropped: Counter[str] = field(default_factory=Counter)
    position: dict[str, Any] = field(default_factory=dict)


def _side(
    record: dict[str, Any], score: float | None = None, aspects: dict[str, float] | None = None
) -> dict[str, Any]:
    side = {"model": record["model"], "sample": record["sample"], "output": record["output"]}
    if score is not None:
        side["score"] = round(score, DIGITS)
    return side | ({"aspects": aspects} if aspects is not None and len(aspects) > 1 else {})


def _pair(q: Question, chosen: dict[str, Any], rejected: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"task_id": q.key[0], "instance": q.key[1], "instruction": q.instruction, "input": q.input,
            "chosen": chosen, "rejected": rejected, **extra}  # fmt: skip


def score_pairs(questions: Sequence[Question], scores: Mapping[tuple[QuestionKey, ResponseId], float], rule: str,
                margin: float, aspects: Aspects | None = None) -> Pairing:  # fmt: skip
    """Pairs from each answer's score (`scores`: the ranked ones only: one rubric's score, or the mean of several
    aspects, given per response in `aspects` and written beside it)."""
    per = aspects or {}
    out = Pairing()
    for q in questions:
        if len(q.responses) < 2:
            out.dropped[FEWER_THAN_TWO] += 1
            continue
        rated = [(r, scores[(q.key, response_id(r))]) for r in q.responses if (q.key, response_id(r)) in scores]
        if len(rated) < 2:
            out.dropped[FEWER_THAN_TWO_JUDGED] += 1
            continue
        top = max(s for _, s in rated)
        best = [(r, s) for r, s in rated if s == top]
        if len(best) > 1:
            out.dropped[TIED_BEST] += 1
            continue
        chosen, high = best[0]
        below = [(r, s) for r, s in rated if high - s >= margin]
        if not below:
            out.dropped[BELOW_MARGIN] += 1
            continue
        if rule == "best-worst":
            low = min(s for _, s in below)
            below = [next((r, s) for r, s in below if s == low)]
        for rejected, s in below:
            sides = [_side(r, x, per.get((q.key, response_id(r)))) for r, x in ((chosen, high), (rejected, s))]
            out.pairs.append(_pair(q, *sides, margin=round(high - s, DIGITS)))
    return out


Verdicts = Mapping[tuple[QuestionKey, ResponseId, ResponseId], str]  # (question, shown A, shown B) -> A, B, tie


def position_counts(verdicts: Verdicts) -> dict[str, Any]:
    """How often the judge named the first and the second position, and whether it prefers one position."""
    picks = Counter(verdicts.values())
    decided = picks["A"] + picks["B"]
    first_share = picks["A"] / decided if decided else None
    biased = decided >= BIASED_MIN and max(picks["A"], picks["B"]) >= BIASED * decided
    return {"first": picks["A"], "second": picks["B"], "ties": picks["tie"],
            "first_share": round(first_share, 4) if first_share is not None else None, "biased": biased}  # fmt: skip


def pairwise_pairs(questions: Sequence[Question], verdicts: Verdicts, rule: str) -> Pairing:
    """Pairs from verdicts asked in both orders (`verdicts`: the readable ones only)."""
    out = Pairing(position=position_counts(verdicts))
    outcomes: Counter[str] = Counter()
    for q in questions:
        if len(q.responses) < 2:
            out.dropped[FEWER_THAN_TWO] += 1
            continue
        ids = [response_id(r) for r in q.responses]
        beat: set[tuple[ResponseId, ResponseId]] = set()
        wins = Counter({i: 0 for i in ids})
        for k, x in enumerate(ids):
            for y in ids[k + 1 :]:
                first, second = verdicts.get((q.key, x, y)), verdicts.get((q.key, y, x))
                if first is None or second is None:
                    outcomes["unreadable"] += 1
                    continue
                winner_1 = {"A": x, "B": y}.get(first)  # x was shown first
                winner_2 = {"A": y, "B": x}.get(second)  # y was shown first
                if first == second == "tie":
                    outcomes["tie"] += 1
                elif winner_1 is not None and winner_1 == winner_2:
                    outcomes["consistent"] += 1
                    loser = y if winner_1 == x else x
                    beat.add((winner_1, loser))
                    wins[winner_1] += 1
                else:
                    outcomes["order_dependent"] += 1
        if out.position["biased"]:
            out.dropped[POSITION_BIASED] += 1
            continue
        top = max(wins.values())
        best = [i for i in ids if wins[i] == top]
        if len(best) > 1:
            out.dropped[TIED_BEST] += 1
            continue
        losers = [i for i in ids if (best[0], i) in beat]
        if rule == "best-worst":
            fewest = min(wins.values())
            worst = next(i for i in ids if wins[i] == fewest)
            if worst not in losers:
                out.dropped[NOT_BEATEN] += 1
                continue
            losers = [worst]
        by_id = dict(zip(ids, q.responses, strict=True))
        for loser in losers:
            out.pairs.append(_pair(q, _side(by_id[best[0]]), _side(by_id[loser]), wins=[top, wins[loser]]))
    total = sum(outcomes.values())
    decided = total - outcomes["unreadable"]
    agreement = round((outcomes["consistent"] + outcomes["tie"]) / decided, 4) if decided else None
    out.position |= {"pairs_compared": total, **{k: outcomes[k] for k in ("consistent", "tie", "order_dependent",
                     "unreadable")}, "order_agreement": agreement}  # fmt: skip
    return out


def length_bias(pairs: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Length is the best-known judge bias: the share of pairs whose chosen answer is the longer one."""
    longer = sum(1 for p in pairs if len(p["chosen"]["output"]) > len(p["rejected"]["output"]))
    same = sum(1 for p in pairs if len(p["chosen"]["output"]) == len(p["rejected"]["output"]))
    return {"longer_chosen": longer, "same_length": same, "of": len(pairs),
            "share": round(longer / len(pairs), 4) if pairs else None}  # fmt: skip
