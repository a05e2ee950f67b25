"""Pieces every command shares: error rendering, -q/-v, output path checks."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click

from selfinstruct.errors import InputError, SelfInstructError

F = TypeVar("F", bound=Callable[..., Any])


def fail(exc: SelfInstructError) -> NoReturn:
    click.echo(f"Error: {exc}", err=True)
    sys.exit(exc.exit_code)


def verbosity_options(func: F) -> F:
    func = click.option("-q", "--quiet", is_flag=True, help="No progress bar, only errors.")(func)
    func = click.option("-v", "--verbose", count=True, help="More detail on stderr (repeat for more).")(func)
    return func


def out_path(value: str, option: str) -> Path:
    path = Path(value)
    if path.is_dir():
        raise InputError(f"{option} {value} is a directory; give a file path")
    return path


def batch_poll_option(func: F) -> F:
    """--batch-poll, the same for every command that can use the Batch API."""
    return click.option(
        "--batch-poll",
        type=click.FloatRange(min=0.01),
        default=5.0,
        show_default=True,
        envvar="SELFINSTRUCT_BATCH_POLL",
        help="Seconds between checks of a batch at first (backing off to 60 s).",
    )(func)


def log_to_stderr(verbose: int) -> None:
    """-v: INFO (retries, batch states), -vv: DEBUG, as lines on stderr."""
    if verbose:
        logging.basicConfig(level=logging.INFO if verbose == 1 else logging.DEBUG, stream=sys.stderr,
                            format="%(levelname)s %(name)s: %(message)s")  # fmt: skip
