"""The `validate` command: check a seed file and summarise it."""

from __future__ import annotations

import click

from selfinstruct.cli.common import CONTEXT_SETTINGS
from selfinstruct.cli.common import fail as _fail
from selfinstruct.errors import SelfInstructError
from selfinstruct.io.seeds import validate_seeds


@click.command(context_settings=CONTEXT_SETTINGS)
@click.argument("seed_file")
def validate(seed_file: str) -> None:
    """Check a seed file and summarise it.

    Accepts the Self-Instruct seed format (JSONL or a JSON array), Alpaca records and task pools.
    Exits 2 with one line naming the file, the line and the fix when something is wrong.

    \b
    Example:
      selfinstruct validate seeds/seed_tasks.jsonl
    """
    try:
        summary = validate_seeds(seed_file)
    except SelfInstructError as exc:
        _fail(exc)
    for line in summary.lines():
        click.echo(line)
