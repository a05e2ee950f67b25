"""How `respond --dry-run`, `prefer --dry-run` and `audit --dry-run` print their estimate (engine.job_estimate):
one renderer, so that the three read alike."""

from __future__ import annotations

import click

from selfinstruct.engine.job_estimate import JobDryRun
from selfinstruct.engine.types import Prices


def _usd(value: float) -> str:
    return "$" + format(value, ",.4f")


def _at(prices: Prices, batch: bool) -> str:
    return (f"at ${prices.input:g} / ${prices.output:g} per 1M prompt / completion tokens"
            + (" (batch prices)" if batch else ""))  # fmt: skip


def _cost_lines(plan: JobDryRun, batch: bool) -> list[str]:
    """The cost line (typical; at most: every attempt at max_tokens), and with several models at their own
    prices, one line per model beneath it."""
    if plan.cost is None or plan.worst_cost is None:
        if plan.models:
            missing = ", ".join(m for m, part in plan.models.items() if part.prices is None)
            return [f"  cost: give --model-price MODEL=IN,OUT for {missing} (or --price-input and --price-output) for "
                    "a dollar estimate"]  # fmt: skip
        return ["  cost: give --price-input and --price-output (USD per 1M tokens) for a dollar estimate"]
    if not plan.models:
        assert plan.prices is not None  # (a cost implies prices)
        return [f"  {'cost':<18} {_usd(plan.cost):>10} ({_at(plan.prices, batch)}; at most {_usd(plan.worst_cost)})"]
    lines = [f"  {'cost':<18} {_usd(plan.cost):>10} (each model at its prices; at most {_usd(plan.worst_cost)})"]
    for model, part in plan.models.items():
        if part.prices is not None and part.cost is not None and part.worst_cost is not None:
            lines.append(f"    {model or 'the served model':<16} {_usd(part.cost):>10} ({part.requests:,} requests "
                         f"{_at(part.prices, batch)}; at most {_usd(part.worst_cost)})")  # fmt: skip
    return lines


def render_job_dry_run(plan: JobDryRun, *, batch: bool, unit: str) -> None:
    """The rendered prompts, then requests, tokens and cost (typical and worst case) for `plan`."""
    for label, prompt in plan.prompts.items():
        click.echo(f"===== {label} =====")
        click.echo(prompt)
        click.echo()
    click.echo(f"===== estimate: {plan.target} =====")
    click.echo(f"  {'requests':<18} {plan.requests:>10,} ({plan.planned:,} {unit}, {plan.journaled:,} already "
               "in the journal)")  # fmt: skip
    click.echo(f"  {'prompt tokens':<18} {plan.prompt_tokens:>10,} (about)")
    click.echo(f"  {'completion tokens':<18} {plan.completion_tokens:>10,} (about; at most "
               f"{plan.worst_completion_tokens:,})")  # fmt: skip
    for line in _cost_lines(plan, batch):
        click.echo(line)
    click.echo(f"  assuming {plan.assumptions}")
    if plan.note:
        click.echo(f"NOTE: {plan.note}")
