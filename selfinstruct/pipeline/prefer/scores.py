"""Score mode's verdicts as each response's score: one rubric's score as it is, several aspects' scores averaged
(as UltraFeedback averaged helpfulness, honesty, instruction following and truthfulness). A response is ranked
only when every aspect was read: a missing aspect would make its mean a different measure than its rivals', so
the response is left out and counted, never filled in."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from selfinstruct.pipeline.prefer.plan import QuestionKey, ResponseId

Response = tuple[QuestionKey, ResponseId]
DIGITS = 4  # a mean as written (the rules compare the exact mean)


@dataclass
class Ranking:
    """Each ranked response's mean score and its scores per aspect; the responses left unranked, by reason."""

    scores: dict[Response, float] = field(default_factory=dict)
    aspects: dict[Response, dict[str, float]] = field(default_factory=dict)
    unranked: Counter[str] = field(default_factory=Counter)

    def counts(self) -> dict[str, Any]:
        return {"ranked": len(self.scores), "unranked": self.unranked.total(),
                "unranked_reasons": dict(sorted(self.unranked.items()))}  # fmt: skip


def _key(j: dict[str, Any]) -> Response:
    return ((j["task_id"], j["instance"]), (j["model"], j["sample"]))


def rank(judgments: Sequence[dict[str, Any]], rubrics: Sequence[str], planned: Sequence[Response]) -> Ranking:
    """The ranking of the `planned` responses (in order) from their verdicts (judgments.jsonl's lines)."""
    got: dict[Response, dict[str, dict[str, Any]]] = {}
    for j in judgments:
        got.setdefault(_key(j), {})[str(j.get("aspect") or rubrics[0])] = j
    out = Ranking()
    for response in planned:
        verdicts = got.get(response, {})
        if any(verdicts.get(r, {}).get("status") == "unreadable" for r in rubrics):
            out.unranked["an aspect unreadable" if len(rubrics) > 1 else "unreadable"] += 1
        elif any(r not in verdicts for r in rubrics):
            out.unranked["not judged yet"] += 1
        else:
            scores = {r: float(verdicts[r]["score"]) for r in rubrics}
            out.scores[response] = sum(scores.values()) / len(scores)
            out.aspects[response] = scores
    return out


def _spread(values: list[float]) -> dict[str, Any]:
    tally = Counter(round(v, DIGITS) for v in values)
    return {"judged": len(values), "mean": round(sum(values) / len(values), 3),
            "distribution": {f"{k:g}": n for k, n in sorted(tally.items())}}  # fmt: skip


def by_model(ranking: Ranking) -> dict[str, Any]:
    """The ranked responses' scores (the mean over the aspects) per model: count, mean and distribution."""
    per: dict[str, list[float]] = {}
    for (_, (model, _)), score in ranking.scores.items():
        per.setdefault(model, []).append(score)
    return {m: _spread(v) for m, v in per.items()}


def by_aspect(judgments: Sequence[dict[str, Any]], rubrics: Sequence[str]) -> dict[str, Any]:
    """Per aspect and model: the verdicts read (count, mean, distribution) and the unreadable ones."""
    out: dict[str, Any] = {}
    for rubric in rubrics:
        read: dict[str, list[float]] = {}
        unreadable: Counter[str] = Counter()
        for j in judgments:
            if str(j.get("aspect") or rubrics[0]) != rubric:
                continue
            if j["status"] == "judged":
                read.setdefault(j["model"], []).append(float(j["score"]))
            else:
                unreadable[j["model"]] += 1
        models = list(dict.fromkeys([*read, *unreadable]))
        out[rubric] = {m: {**(_spread(read[m]) if m in read else {"judged": 0, "mean": None, "distribution": {}}),
                           "unreadable": unreadable[m]} for m in models}  # fmt: skip
    return out
