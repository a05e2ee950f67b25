"""Pieces every command shares: error rendering, -q/-v, output path checks."""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click

from selfinstruct.errors import InputError, SelfInstructError, Terminated

F = TypeVar("F", bound=Callable[..., Any])
EXIT_BUDGET = 3  # a cap (--max-tokens-total, --max-cost) was reached first; a larger one resumes


def fail(exc: SelfInstructError) -> NoReturn:
    click.echo(f"Error: {exc}", err=True)
    sys.exit(exc.exit_code)


def interrupted(exc: KeyboardInterrupt, what: str) -> NoReturn:
    """Ctrl-C (exit 130), SIGTERM (143) or SIGHUP (129): one line saying that `what` is intact and resumable.
    After a SIGHUP the terminal may be gone: the line is best effort, the exit code is not."""
    by = f" by {exc}" if isinstance(exc, Terminated) else ""
    with contextlib.suppress(OSError):
        click.echo(f"Interrupted{by}. {what} is intact: run the same command to resume.", err=True)
    sys.exit(exc.exit_code if isinstance(exc, Terminated) else 130)


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


def engine_options(func: F) -> F:
    """--concurrency, --rpm, --tpm, --timeout, --max-retries: the request engine's options, the same for every
    command that sends requests."""
    options = [
        click.option(
            "--concurrency",
            type=click.IntRange(1, 1024),
            envvar="SELFINSTRUCT_CONCURRENCY",
            help="Requests in flight [default: 8; 2 for the embedded model].",
        ),
        click.option("--rpm", type=click.FloatRange(min=0, min_open=True), help="Requests per minute limit."),
        click.option(
            "--tpm",
            type=click.FloatRange(min=0, min_open=True),
            help="Tokens per minute limit (estimated per request).",
        ),
        click.option(
            "--timeout",
            type=click.FloatRange(min=0, min_open=True),
            default=120.0,
            show_default=True,
            help="Seconds one attempt may take, connect to last byte (the embedded model: seconds without a "
            "new token).",
        ),
        click.option(
            "--max-retries",
            type=click.IntRange(0, 100),
            default=6,
            show_default=True,
            help="Retries of a request on 429/5xx/timeouts/dropped connections.",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def cost_options(func: F) -> F:
    """--max-cost, --price-input, --price-output, --batch-discount: the same for every command that pays for
    requests (resolved by settings.resolve_prices)."""
    options = [
        click.option(
            "--max-cost",
            type=click.FloatRange(min=0, min_open=True),
            help="Hard cap in USD, as --max-tokens-total (the worst case is reserved before anything is sent, so "
            "the cap is never passed); needs --price-input and --price-output. Exit 3 when reached.",
        ),
        click.option(
            "--price-input",
            type=click.FloatRange(min=0),
            envvar="SELFINSTRUCT_PRICE_INPUT",
            show_envvar=True,
            help="USD per 1M prompt tokens (for --max-cost, the cost in the summary and the --dry-run estimate).",
        ),
        click.option(
            "--price-output",
            type=click.FloatRange(min=0),
            envvar="SELFINSTRUCT_PRICE_OUTPUT",
            show_envvar=True,
            help="USD per 1M completion tokens.",
        ),
        click.option(
            "--batch-discount",
            type=click.FloatRange(0, 1),
            envvar="SELFINSTRUCT_BATCH_DISCOUNT",
            show_envvar=True,
            help="With --batch: the share of --price-input/--price-output a batch costs [default: 0.5, OpenAI's].",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func
