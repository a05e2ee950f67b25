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
    models: dict[str, str] = field(default_factory=dict)  # step -> the model its requests went to (run.json)
    costs: dict[str, float] = field(default_factory=dict)  # step -> USD at its model's prices, where recorded

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
class NearPair:
    """One of the closest accepted pairs: a task and the earlier task or seed most similar to it."""

    score: float
    task_id: str
    instruction: str
    other_id: str
    other: str
    other_is_seed: bool


@dataclass
class RejectedExample:
    """A rejected candidate as rejected.jsonl has it; `raw` is the model's reply when the record carries one."""

    instruction: str
    detail: str
    raw: str | None


@dataclass
class SampleTask:
    """A task drawn for manual review."""

    id: str
    instruction: str
    is_classification: bool | None
    instances: list[dict[str, str]]


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
    threshold: float = 0.7  # the run's ROUGE-L filter threshold (0.7 when unknown)
    seed_similarity_counts: list[int] | None = None  # Figure 3: tasks per bin of ROUGE-L to the most similar seed
    near_pairs: list[NearPair] = field(default_factory=list)  # the closest pairs, most similar first
    exact_duplicates: int = 0  # tasks whose instruction repeats an earlier task's or a seed's (case, spaces aside)
    token_lengths: dict[str, Distribution] | None = None  # the same measures as `lengths`, in tokenizer tokens
    tokenizer: str | None = None
    tokens_note: str | None = None
    open_instances: int = 0  # instances of tasks not known to be classification
    one_word_outputs: int = 0  # of those, outputs of at most one word
    identical_outputs: int = 0  # tasks that share an output (of more than one word) with another task
    identical_examples: list[tuple[str, int]] = field(default_factory=list)  # such outputs and their task counts
    warnings: list[str] = field(default_factory=list)
    sample: list[SampleTask] = field(default_factory=list)
    sample_seed: int = 0
    run: RunInfo | None = None
    truncated: dict[str, int] | None = None  # run.json usage: replies cut off at the token limit, per step
    rejected_examples: dict[str, list[RejectedExample]] = field(default_factory=dict)  # "stage:reason" -> a few
    verbs: VerbStats | None = None
    verbs_note: str | None = None
    audit: dict[str, Any] | None = None  # audit_summary.json of the last `selfinstruct audit` of this source
    preferences: dict[str, Any] | None = None  # a respond run's answers and its prefer judging (preferences.py)
    contamination: list[dict[str, Any]] | None = None  # per benchmark, when decontaminated (stats.contamination)
    evolution: dict[str, Any] | None = None  # a pool with lineage (Evol-Instruct): depth and operation mix (lineage.py)
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

    @property
    def one_word_share(self) -> float:
        return self.one_word_outputs / self.open_instances if self.open_instances else 0.0

    def to_dict(self) -> dict[str, Any]:
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        out.update(
            instances_per_task_mean=self.instances_per_task_mean,
            classification_share=self.classification_share,
            empty_input_share=self.empty_input_share,
            one_word_share=self.one_word_share,
            lengths={k: asdict(d) for k, d in self.lengths.items()},
            similarity_bins=[round(k / SIM_BINS, 1) for k in range(SIM_BINS + 1)],
            run=self.run.to_dict() if self.run else None,
            verbs=self.verbs.to_dict() if self.verbs else None,
            token_lengths={k: asdict(d) for k, d in self.token_lengths.items()} if self.token_lengths else None,
            near_pairs=[asdict(p) for p in self.near_pairs],
            identical_examples=[{"output": o, "tasks": n} for o, n in self.identical_examples],
            sample=[asdict(t) for t in self.sample],
            rejected_examples={k: [asdict(x) for x in v] for k, v in self.rejected_examples.items()},
            seconds={k: round(v, 3) for k, v in self.seconds.items()},
        )
        return out
