"""What one Evol-Instruct request evolves: which parent, by which operation, at which round.

A pure function of (seed, request) and of what the request may see (the sources and the pool committed by the
rounds before its own), so that the pool is the same at any concurrency and after a resume. WizardLM evolves
every instruction of round r-1 once in round r; here a request takes, among the instructions still below
`--rounds`, those evolved least often so far (so the sources are all evolved once before any twice), and picks
one of them, and one of the six operations, with its own RNG.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from selfinstruct.engine.seeding import derive_seed
from selfinstruct.tasks import Task

# The operations (WizardLM, section 3.1): five in depth, one in breadth; each is a template of the same name.
IN_DEPTH = ("evol_constraints", "evol_deepen", "evol_concretize", "evol_reasoning", "evol_complicate_input")
IN_BREADTH = "evol_breadth"
OPERATIONS = (*IN_DEPTH, IN_BREADTH)
JUDGE_TEMPLATE = "evol_judge"


@dataclass(frozen=True)
class Parent:
    id: str
    instruction: str
    round: int  # 0: a source instruction; r: evolved r times

    @property
    def key(self) -> tuple[str, bool]:
        """Its id and whether it is a source: a pool given as --from has ids (machine_task_N) that the run's own
        pool uses again, and a record's round tells which one its "parent" names (round 1: a source)."""
        return self.id, self.round == 0


@dataclass(frozen=True)
class Evolution:
    parent: Parent
    operation: str
    round: int  # the evolved instruction's round: its parent's plus one

    def meta(self, method: str) -> dict[str, Any]:
        return {"method": method, "parent": self.parent.id, "operation": self.operation, "round": self.round}


def parents(sources: Sequence[Task], pool: Sequence[dict[str, Any]]) -> list[Parent]:
    """The sources (round 0), then the evolved instructions of the pool with their round."""
    found = [Parent(t.id, t.instruction, 0) for t in sources]
    for record in pool:
        meta = record.get("meta")
        depth = meta.get("round") if isinstance(meta, dict) else None
        if isinstance(depth, int) and isinstance(record.get("id"), str):
            found.append(Parent(record["id"], str(record["instruction"]), depth))
    return found


def choose(
    seed: int, request: int, candidates: Sequence[Parent], children: Counter[tuple[str, bool]], rounds: int
) -> Evolution:
    """Request `request`'s evolution; `children`: how often each instruction was evolved in what it may see."""
    rng = random.Random(derive_seed(seed, request, "evolution"))
    open_ = [p for p in candidates if p.round < rounds]  # (the sources always are: rounds >= 1)
    fewest = min(children[p.key] for p in open_)
    parent = rng.choice([p for p in open_ if children[p.key] == fewest])
    return Evolution(parent, rng.choice(OPERATIONS), parent.round + 1)


def evolved_counts(pool: Sequence[dict[str, Any]]) -> Counter[tuple[str, bool]]:
    """How often each instruction (by Parent.key) is the parent of a task of `pool`."""
    counts: Counter[tuple[str, bool]] = Counter()
    for record in pool:
        meta = record.get("meta")
        if isinstance(meta, dict) and isinstance(meta.get("parent"), str) and isinstance(meta.get("round"), int):
            counts[meta["parent"], meta["round"] == 1] += 1
    return counts
