"""A run's usage per step and model, and its cost at each model's prices, as run.json records them.

generate records each step's model (`settings.step_models`; older runs only `settings.model`, one model for
every step) and the prices each step was charged at (`prices`, when any were given), so that `stats` and the
dataset card can say what each step and model cost without being told the prices again.
"""

from __future__ import annotations

import math
from typing import Any


def step_models(run: dict[str, Any], steps: list[str]) -> dict[str, str]:
    """Step -> the model its requests went to ("" where run.json does not say)."""
    settings = run.get("settings")
    settings = settings if isinstance(settings, dict) else {}
    per_step = settings.get("step_models")
    per_step = per_step if isinstance(per_step, dict) else {}
    main = settings.get("model")
    default = main if isinstance(main, str) else ""
    return {step: str(per_step[step]) if isinstance(per_step.get(step), str) else default for step in steps}


def step_costs(run: dict[str, Any], usage: dict[str, dict[str, int]]) -> dict[str, float]:
    """Step -> what its tokens cost at the prices run.json recorded for it (only the steps it has prices for)."""
    prices = run.get("prices")
    prices = prices if isinstance(prices, dict) else {}
    out: dict[str, float] = {}
    for step, counts in usage.items():
        given = prices.get(step)
        if not isinstance(given, dict):
            continue
        rates = [r for r in (_rate(given.get("input")), _rate(given.get("output"))) if r is not None]
        if len(rates) == 2:
            prompt, completion = counts.get("prompt_tokens", 0), counts.get("completion_tokens", 0)
            out[step] = (prompt * rates[0] + completion * rates[1]) / 1e6
    return out


def _rate(value: object) -> float | None:
    """A price as run.json may hold one (a finite number >= 0, not a bool), or None."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) and value >= 0 else None
