"""Everything `selfinstruct prefer` needs, resolved once: the respond run, the judge and the pairing rules."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from selfinstruct.audit.settings import JUDGE_PARAMS, LOCAL_JUDGE_PARAMS, resolve_judge
from selfinstruct.engine.jobs import Spending
from selfinstruct.engine.options import ENGINE_BOUNDS, Bound, EngineOptions, check_bounds, check_choices
from selfinstruct.engine.types import Api, EndpointSettings, StepParams
from selfinstruct.errors import InputError
from selfinstruct.pipeline.respond.output import read_state
from selfinstruct.pipeline.respond.settings import ANSWERS
from selfinstruct.text import Language

Mode = Literal["score", "pairwise"]
Pairs = Literal["best-worst", "best-each"]
# UltraFeedback's aspects, each rated on its own; "overall" asks for the first three in one score.
ASPECTS = ("helpfulness", "honesty", "instruction_following", "truthfulness")
RUBRICS = ("overall", *ASPECTS)
ALL = "all"  # --rubric all: every aspect
STEP = "prefer"
JUDGMENTS = "judgments.jsonl"  # every verdict, in the answers' order
PREFERENCES = "preferences.jsonl"  # the pairs
SUMMARY = "prefer.json"  # the settings, the counts and the judge's biases
LEDGER = "prefer_responses.jsonl"  # the judge's replies and every attempt charged (the budget's ledger)
BATCHES = "prefer_batches.jsonl"
# 256 tokens hold a JSON verdict with a long reason; the embedded judge rambles, slowly.
PARAMS = JUDGE_PARAMS
LOCAL_PARAMS = LOCAL_JUDGE_PARAMS


@dataclass(frozen=True)
class PreferSettings:
    run_dir: Path  # a directory written by `respond`
    endpoint: EndpointSettings
    mode: Mode = "score"
    rubrics: tuple[str, ...] = ("overall",)  # several: each response rated per aspect, ranked by their mean
    scale: int = 10
    pairs: Pairs = "best-worst"
    margin: float = 1.0
    language: Language = "en"
    prompts_dir: Path | None = None
    params: StepParams = PARAMS
    seed: int = 0
    spending: Spending = field(
        default_factory=Spending
    )  # the embedded judge or the endpoint, caps, prices, --batch (as respond's)
    dry_run: bool = False

    @property
    def local(self) -> bool:
        return self.spending.local

    def path(self, name: str) -> Path:
        return self.run_dir / name


@dataclass(frozen=True)
class PreferOptions(EngineOptions):
    """`prefer`'s options as a user gives them (None: not given, the default applies).

    Attributes:
        run_dir: a directory written by `respond` (its answers.jsonl).
        mode: "score" (each response rated on the rubric) or "pairwise" (two at a time, both orders).
        rubric: the scoring template (overall, helpfulness, honesty, instruction_following, truthfulness), or
            several aspects (a tuple, or "all"): each rated on its own, the response ranked by their mean.
            scale: 10 or 5.
        pairs: "best-worst" (one pair per instruction) or "best-each" (the best against every response at
            least `margin` below it). margin: the score gap a pair needs (score mode).
        judge_model, judge_base_url, api_key, api: the judge; with neither URL nor key, the embedded model.
        seed: the per-request seeds' root. language: the templates' language (default: the run's).
    """

    run_dir: str | Path = "."
    mode: Mode | None = None
    rubric: str | tuple[str, ...] | None = None
    scale: int | None = None
    pairs: Pairs | None = None
    margin: float | None = None
    judge_model: str | None = None
    judge_base_url: str | None = None
    api_key: str | None = None
    api: Api | None = None
    seed: int = 0
    language: Language | None = None


PREFER_CHOICES: dict[str, tuple[str, ...]] = {
    "mode": ("score", "pairwise"),
    "pairs": ("best-worst", "best-each"),
    "api": ("chat", "completions"),
    "language": ("en", "zh"),
}
PREFER_BOUNDS: dict[str, Bound] = {"seed": Bound(integer=True), "margin": Bound(0), "scale": Bound(5, 10, integer=True)}


def _rubrics(given: str | tuple[str, ...] | None) -> tuple[str, ...]:
    """The rubrics named (none: the default), "all" as every aspect, each once in the order given."""
    names = (given,) if isinstance(given, str) else tuple(given or ())
    out: list[str] = []
    for name in names:
        if name not in (*RUBRICS, ALL):
            raise InputError(f"--rubric {name!r}: choose one of {', '.join((*RUBRICS, ALL))}")
        out += [a for a in (ASPECTS if name == ALL else (name,)) if a not in out]
    if len(out) > 1 and "overall" in out:
        raise InputError("--rubric overall rates the aspects together in one score; with several --rubric name "
                         f"aspects only ({', '.join(ASPECTS)}, or all)")  # fmt: skip
    return tuple(out)


def resolve_prefer_settings(o: PreferOptions) -> PreferSettings:
    """The options as one settings object; bad values are InputErrors before anything runs or is written."""
    check_bounds(o, ENGINE_BOUNDS | PREFER_BOUNDS)
    check_choices(o, PREFER_CHOICES)
    if o.scale is not None and o.scale not in (5, 10):
        raise InputError(f"--scale {o.scale}: choose 5 or 10")
    run_dir = Path(o.run_dir)
    if not (run_dir / ANSWERS).is_file():
        raise InputError(f"no {ANSWERS} here; pass a directory written by `selfinstruct respond`", path=run_dir)
    state: dict[str, Any] = read_state(run_dir) or {}
    language: Language = o.language or ("zh" if state.get("language") == "zh" else "en")
    judge = resolve_judge(o, language=language, default=PARAMS, local_default=LOCAL_PARAMS)
    mode: Mode = o.mode or "score"
    rubrics = _rubrics(o.rubric)
    if mode == "pairwise" and (rubrics or o.scale is not None):
        raise InputError("--rubric and --scale rate each response on its own (--mode score); pairwise asks which of "
                         "two is better (prompts prefer_pairwise.txt)")  # fmt: skip
    if mode == "pairwise" and o.margin is not None:
        raise InputError("--margin is a score gap (--mode score); pairwise pairs need a win in both orders")
    return PreferSettings(
        run_dir=run_dir,
        endpoint=judge.endpoint,
        mode=mode,
        rubrics=rubrics or ("overall",),
        scale=int(o.scale or 10),
        pairs=o.pairs or "best-worst",
        margin=float(o.margin if o.margin is not None else 1.0),
        language=language,
        prompts_dir=Path(o.prompts_dir) if o.prompts_dir else None,
        params=judge.params,
        seed=int(o.seed),
        spending=Spending.of(o, local=judge.local, local_model=judge.local_model),
        dry_run=bool(o.dry_run),
    )
