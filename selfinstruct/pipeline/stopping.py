"""When a run should stop before its target: the model has run out of new tasks, or it is of no use.

Outcomes are recorded in commit order, so the decision is the same at any concurrency. Two signals:

* a streak: `max_unusable` responses in a row that gave nothing usable (an empty reply, nothing parseable, a
  refusal, instances that all break the rules) with no accepted task in between: the model or the endpoint is
  broken, and every further request is money thrown away;
* the saturation window, the last `window` outcomes (candidates, and responses that gave no candidate): when
  fewer than `min_acceptance` of them were accepted, or one reason other than near-duplication makes up
  `DOMINANT_SHARE` of them. A window of near-duplicates is saturation (the seeds and prompts have given what
  they can); any other dominant reason means the model is unusable for this pipeline.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

NEAR_DUPLICATE = "filter:near_duplicate"
DOMINANT_SHARE = 0.9


@dataclass(frozen=True)
class Verdict:
    status: str  # "saturated" | "unusable"
    message: str


class StopRules:
    """Watches outcomes in commit order and says when the run should stop."""

    def __init__(
        self, *, window: int, min_acceptance: float, max_unusable: int, history: Iterable[str | None] = ()
    ) -> None:
        self.min_acceptance = min_acceptance
        self.max_unusable = max_unusable
        self.recent: deque[str | None] = deque(history, maxlen=window)  # None: accepted, else stage:reason
        self.streak: Counter[str] = Counter()  # unusable responses since the last accepted task, by reason
        self.examples: dict[str, str] = {}  # the latest raw reply (or instruction) for each reason

    def accepted(self) -> None:
        self.recent.append(None)
        self.streak.clear()

    def rejected(self, reason: str, *, unusable: bool = False, raw: str = "") -> None:
        """A rejected candidate or a response without candidates; `unusable`: the response itself was useless."""
        self.recent.append(reason)
        if raw or reason not in self.examples:
            self.examples[reason] = raw
        if unusable:
            self.streak[reason] += 1

    def verdict(self) -> Verdict | None:
        if sum(self.streak.values()) >= self.max_unusable:
            reason = self.streak.most_common(1)[0][0]
            return Verdict(
                "unusable",
                f"stopped: the model is unusable: {self.max_unusable} responses in a row gave nothing usable "
                f"(mostly {reason}); {_example(self.examples.get(reason, ''))}",
            )
        if len(self.recent) < (self.recent.maxlen or 0):
            return None
        reasons = Counter(r for r in self.recent if r is not None)
        accepted = len(self.recent) - sum(reasons.values())
        top, count = reasons.most_common(1)[0] if reasons else ("", 0)
        low = self.min_acceptance > 0 and accepted / len(self.recent) < self.min_acceptance
        dominated = top != NEAR_DUPLICATE and count >= DOMINANT_SHARE * len(self.recent)
        if not (low or dominated):
            return None
        share = f"{accepted} of the last {len(self.recent)} outcomes were accepted, {count} were {top}"
        if top == NEAR_DUPLICATE:
            return Verdict(
                "saturated",
                f"stopped: {share}; the model has run out of new tasks for these seeds and prompts",
            )
        example = f"; example: {_snippet(self.examples[top])}" if self.examples.get(top) else ""
        return Verdict("unusable", f"stopped: the model is unusable for this pipeline: {share}{example}")


def history_of(pool: Iterable[dict[str, Any]], rejected: Iterable[dict[str, Any]]) -> list[str | None]:
    """Outcomes in commit order (None: accepted, else stage:reason), rebuilt from the files so that the
    saturation window survives a resume."""
    keyed: list[tuple[int, int, str | None]] = []
    for records, accepted in ((pool, True), (rejected, False)):
        for r in records:
            meta = r.get("meta")
            if (
                isinstance(meta, dict)
                and isinstance(meta.get("candidate"), int)
                and isinstance(meta.get("request"), int)
            ):
                keyed.append(
                    (meta["request"], meta["candidate"], None if accepted else f"{r.get('stage')}:{r.get('reason')}")
                )
    keyed.sort(key=lambda key: key[:2])
    return [outcome for _, _, outcome in keyed]


def _example(raw: str) -> str:
    """One raw reply to show, or what an empty one looked like: a quoted '' tells the user nothing."""
    return f"example reply: {_snippet(raw)}" if raw.strip() else "the replies were empty"


def _snippet(text: str, limit: int = 160) -> str:
    flat = " ".join(text.split())
    return repr(flat if len(flat) <= limit else flat[: limit - 3] + "...")
