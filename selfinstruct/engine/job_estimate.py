"""`respond --dry-run`, `prefer --dry-run` and `audit --dry-run`: what a job of independent requests would send
and cost, without sending anything, starting the embedded model or writing a file (one renderer prints them all,
cli/estimates.py).

Every request is known up front (engine.jobs), so the count is exact and the prompt tokens are estimated from
the rendered prompts. Only the completions are assumed: a typical length for the estimate, and max_tokens for
the worst case, which is what the hard budget reserves before it sends a request. Replies already in the run
directory's journal are left out (they are replayed for free), when the model is named: the served model of a
bare --base-url is only known by asking the server. A job asking several models at their own prices (respond
--model-price) is estimated per model and added up.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from selfinstruct.engine.budget import typical_tokens
from selfinstruct.engine.types import ModelPrices, Prices

PROMPT_TOKENS = "prompts at 4.3 bytes per token (1 per CJK character)"


@dataclass(frozen=True)
class JobDryRun:
    """One rendered prompt per template in use, the requests, their tokens and cost at the prices."""

    target: str  # the endpoint and the models (or judge) asked
    prompts: dict[str, str]  # a label (the template, the model) -> one rendered prompt
    planned: int  # every request the job makes
    journaled: int  # of those, replayed from the journal
    requests: int  # to send
    prompt_tokens: int
    completion_tokens: int  # at the typical completion length
    worst_prompt_tokens: int  # every attempt sent (what the budget reserves)
    worst_completion_tokens: int  # every attempt at max_tokens
    prices: Prices | None
    assumptions: str
    note: str = ""
    # A job over several models at their own prices: each model's estimate (its `prices` its own); the figures
    # above are their sums, and the costs too.
    models: Mapping[str, JobDryRun] = field(default_factory=dict)

    @property
    def cost(self) -> float | None:
        if self.models:
            return _sum(m.cost for m in self.models.values())
        return self.prices.cost(self.prompt_tokens, self.completion_tokens) if self.prices is not None else None

    @property
    def worst_cost(self) -> float | None:
        if self.models:
            return _sum(m.worst_cost for m in self.models.values())
        if self.prices is None:
            return None
        return self.prices.cost(self.worst_prompt_tokens, self.worst_completion_tokens)


def _sum(costs: Iterable[float | None]) -> float | None:
    """The total of costs, None when one is not known (a model without prices)."""
    known = list(costs)
    return None if None in known else sum(c for c in known if c is not None)


def embedded_name(local_model: Path | None) -> str:
    """The embedded model's name as the notes give it: the --local-model file's, or the bundled model's."""
    from selfinstruct.engine.local.server import DEFAULT_MODEL_NAME  # (no runtime needed: a name only)

    return local_model.name if local_model is not None else DEFAULT_MODEL_NAME


def estimate_job(target: str, prompts: dict[str, str], to_send: Sequence[str], planned: int, *, typical: int,
                 max_tokens: int, prices: Prices | None, assumptions: str, note: str = "",
                 attempts: int = 1) -> JobDryRun:  # fmt: skip
    """The estimate for the prompts still `to_send` (one request each, of `planned`), each answered in about
    `typical` completion tokens (never more than max_tokens); the worst case asks each `attempts` times."""
    prompt_tokens = round(sum(typical_tokens(p) for p in to_send))
    return JobDryRun(
        target=target,
        prompts=prompts,
        planned=planned,
        journaled=planned - len(to_send),
        requests=len(to_send),
        prompt_tokens=prompt_tokens,
        completion_tokens=len(to_send) * min(typical, max_tokens),
        worst_prompt_tokens=attempts * prompt_tokens,
        worst_completion_tokens=attempts * len(to_send) * max_tokens,
        prices=prices,
        assumptions=assumptions,
        note=note,
    )


def by_model(whole: JobDryRun, to_send: Mapping[str, Sequence[str]], planned: Mapping[str, int], *, typical: int,
             max_tokens: int, pricing: ModelPrices, attempts: int = 1) -> JobDryRun:  # fmt: skip
    """`whole` (the estimate of every prompt in `to_send`) split by model, each model's part at its own prices
    (`pricing`): the cost is their sum."""
    parts = {
        model: estimate_job(whole.target, {}, prompts, planned[model], typical=typical, max_tokens=max_tokens,
                            prices=pricing.of(model), assumptions="", attempts=attempts)
        for model, prompts in to_send.items()
    }  # fmt: skip
    return dataclasses.replace(whole, models=parts)
