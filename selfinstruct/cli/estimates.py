"""How `respond --dry-run` and `prefer --dry-run` print their estimate (pipeline.job_estimate), the way
`audit --dry-run` prints its own."""

from __future__ import annotations

import click

from selfinstruct.pipeline.job_estimate import JobDryRun


def _usd(value: float) -> str:
    return "$" + format(value, ",.4f")


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
    prices = plan.prices
    if prices is not None and plan.cost is not None and plan.worst_cost is not None:
        at = f"at ${prices.input:g} / ${prices.output:g} per 1M prompt / completion tokens"
        click.echo(f"  {'cost':<18} {_usd(plan.cost):>10} ({at}{' (batch prices)' if batch else ''}; at most "
                   f"{_usd(plan.worst_cost)})")  # fmt: skip
    else:
        click.echo("  cost: give --price-input and --price-output (USD per 1M tokens) for a dollar estimate")
    click.echo(f"  assuming {plan.assumptions}")
    if plan.note:
        click.echo(f"NOTE: {plan.note}")
