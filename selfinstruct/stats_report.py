"""What `selfinstruct stats` reports: plain dataclasses that the computing modules fill in and the text, PNG and
HTML renderers read, so neither side depends on the other."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

INSTALL_HINT = 'pip install "selfinstruct[stats]"'
SIM_BINS = 10


@dataclass
class Distribution:
    """Summary and histogram of one length measure. The last bin also holds values above its upper edge."""

    count: int
    min: float
    median: float
    p90: float
    max: float
    mean: float
    edges: list[float]
    counts: list[int]


@dataclass
class RunInfo:
    """What a run directory's run.json and rejected.jsonl add."""

    status: str | None
    usage: dict[str, dict[str, int]]
    accepted: int
    rejected_candidates: int  # candidates the filters or the instance step dropped (not failed responses)
    failed_responses: int
    rejected_by_reason: dict[str, int]  # "stage:reason" -> count, most common first

    @property
    def acceptance_rate(self) -> float | None:
        total = self.accepted + self.rejected_candidates
        return self.accepted / total if total else None

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "acceptance_rate": self.acceptance_rate}


@dataclass
class VerbStats:
    """Root verb + direct-object noun of each instruction's first sentence (the paper's Figure 2)."""

    model: str
    parsed: int
    with_verb: int
    with_pair: int
    distinct_verbs: int
    distinct_pairs: int
    top: list[tuple[str, int, list[tuple[str, int]]]]  # verb, pairs with it, its most common nouns

    @property
    def pair_share(self) -> float:
        return self.with_pair / self.parsed if self.parsed else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            **{k: v for k, v in asdict(self).items() if k != "top"},
            "pair_share": self.pair_share,
            "top": [{"verb": v, "count": c, "nouns": dict(nouns)} for v, c, nouns in self.top],
        }


@dataclass
class Stats:
    source: str
    kind: str  # "run" (a run directory) or "file"
    language: str
    tasks: int
    instances: int
    instances_per_task_max: int
    classification: int
    classification_unknown: int
    empty_inputs: int
    length_unit: str
    lengths: dict[str, Distribution]  # instruction, input (non-empty inputs only), output
    similarity_reference: int  # seed instructions every task was also compared with
    similarity_counts: list[int]  # tasks per 0.1 bin of ROUGE-L F1 to the most similar earlier instruction
    similarity_exact: bool  # False: scores below 0.1 were not computed (only their bin is known)
    run: RunInfo | None = None
    verbs: VerbStats | None = None
    verbs_note: str | None = None
    prefixes: list[tuple[str, int]] | None = None  # Chinese: most common leading 2-character prefixes
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def instances_per_task_mean(self) -> float:
        return self.instances / self.tasks if self.tasks else 0.0

    @property
    def classification_share(self) -> float:
        return self.classification / self.tasks if self.tasks else 0.0

    @property
    def empty_input_share(self) -> float:
        return self.empty_inputs / self.instances if self.instances else 0.0

    def to_dict(self) -> dict[str, Any]:
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        out.update(
            instances_per_task_mean=self.instances_per_task_mean,
            classification_share=self.classification_share,
            empty_input_share=self.empty_input_share,
            lengths={k: asdict(d) for k, d in self.lengths.items()},
            similarity_bins=[round(k / SIM_BINS, 1) for k in range(SIM_BINS + 1)],
            run=self.run.to_dict() if self.run else None,
            verbs=self.verbs.to_dict() if self.verbs else None,
            prefixes=dict(self.prefixes) if self.prefixes is not None else None,
            seconds={k: round(v, 3) for k, v in self.seconds.items()},
        )
        return out
