"""Pieces every command shares: error rendering, -q/-v, output path checks."""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import logging
import math
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click

from selfinstruct.engine.redact import RedactingFilter, redact
from selfinstruct.errors import InputError, SelfInstructError, Terminated

F = TypeVar("F", bound=Callable[..., Any])
# Every command's, not only the group's: a command object invoked on its own (from Python, or a test) would make
# click build and keep a help option without -h, which the group's `-h` then lacked too.
CONTEXT_SETTINGS: dict[str, Any] = {"help_option_names": ["-h", "--help"], "max_content_width": 100}
EXIT_BUDGET = 3  # a cap (--max-tokens-total, --max-cost) was reached first; a larger one resumes
EXIT_UNUSABLE = 5  # the model's replies were unusable (generate: nothing usable; audit: no readable verdict)


def fail(exc: SelfInstructError) -> NoReturn:
    click.echo(f"Error: {redact(str(exc))}", err=True)
    sys.exit(exc.exit_code)


def notice(message: str) -> None:
    """A library notice (a repaired log, a batch's state, a server's complaint) on stderr, credentials redacted."""
    click.echo(redact(message), err=True)


# What to do about the OS errors a user can fix; the rest get the system's own words only.
_OS_FIXES = {
    errno.ENOSPC: "free some space, then run the same command again (a run directory resumes where it stopped)",
    errno.EDQUOT: "free some space, then run the same command again (a run directory resumes where it stopped)",
    errno.EROFS: "the file system is read-only; write somewhere else",
    errno.ENOTDIR: "a part of the path is a file, not a directory; choose another path",
    errno.EEXIST: "a file stands where a directory is needed; choose another path",
    errno.EACCES: "check the permissions or write somewhere else",
    errno.EPERM: "check the permissions or write somewhere else",
    errno.EISDIR: "it is a directory; give a file path",
}


def os_error_line(exc: OSError) -> str:
    """An OS error (full disk, read-only file system, a file where a directory should be) as one line: the
    path, what the errno means and the fix. Every command's OSError ends here (cli.OneLineErrorGroup)."""
    meaning = exc.strerror or (os.strerror(exc.errno) if exc.errno else str(exc))
    where = " -> ".join(str(f) for f in (exc.filename, exc.filename2) if f is not None)
    fix = _OS_FIXES.get(exc.errno or 0)
    return redact((f"{where}: " if where else "") + meaning + (f"; {fix}" if fix else ""))


class FiniteFloat(click.FloatRange):
    """A float option in a range that also refuses NaN and infinity. NaN fails every comparison, so a plain
    FloatRange lets it through (`--timeout nan` crashed, `--price-input nan` disabled --max-cost); no option
    of this tool reads infinity as "no limit" (leaving the option out means that)."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        number = click.FLOAT.convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number", param, ctx)
        return super().convert(number, param, ctx)

    def _describe_range(self) -> str:
        """No bounds: no range in --help (click would print `x<=None`)."""
        return "" if self.min is None and self.max is None else super()._describe_range()


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
    """An output file option's path; empty (Path('') is the current directory) or a directory is refused."""
    if not value.strip():
        raise InputError(f"{option} is empty; give a file path")
    path = Path(value)
    if path.is_dir():
        raise InputError(f"{option} {value} is a directory; give a file path")
    return path


def batch_poll_option(func: F) -> F:
    """--batch-poll, the same for every command that can use the Batch API."""
    return click.option(
        "--batch-poll",
        type=FiniteFloat(min=0.01),
        default=5.0,
        show_default=True,
        envvar="SELFINSTRUCT_BATCH_POLL",
        help="Seconds between checks of a batch at first (backing off to 60 s).",
    )(func)


def log_to_stderr(verbose: int) -> None:
    """-v: INFO (retries, batch states), -vv: DEBUG, as lines on stderr, with credentials redacted."""
    if verbose:
        logging.basicConfig(level=logging.INFO if verbose == 1 else logging.DEBUG, stream=sys.stderr,
                            format="%(levelname)s %(name)s: %(message)s")  # fmt: skip
        for handler in logging.getLogger().handlers:
            if not any(isinstance(f, RedactingFilter) for f in handler.filters):
                handler.addFilter(RedactingFilter())


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
        click.option("--rpm", type=FiniteFloat(min=0, min_open=True), help="Requests per minute limit."),
        click.option(
            "--tpm",
            type=FiniteFloat(min=0, min_open=True),
            help="Tokens per minute limit (estimated per request).",
        ),
        click.option(
            "--timeout",
            type=FiniteFloat(min=0, min_open=True),
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


def judge_options(func: F) -> F:
    """--judge-model, --judge-base-url, --api-key, --api: the judge's endpoint, the same for `audit` and `prefer`
    (resolved by audit.settings.resolve_judge)."""
    options = [
        click.option(
            "--judge-model",
            envvar="SELFINSTRUCT_JUDGE_MODEL",
            help="Judge model. Default: gpt-4o-mini on OpenAI, the served model on --judge-base-url.",
        ),
        click.option(
            "--judge-base-url",
            envvar=["SELFINSTRUCT_JUDGE_BASE_URL", "OPENAI_BASE_URL"],
            help="OpenAI-compatible endpoint of the judge, e.g. http://localhost:8000/v1.",
        ),
        click.option(
            "--api-key",
            envvar=["SELFINSTRUCT_JUDGE_API_KEY", "OPENAI_API_KEY"],
            help="API key of the judge (prefer the environment variable; it is never written to disk).",
        ),
        click.option("--api", type=click.Choice(["chat", "completions"]), help="chat (default) or completions."),
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
            type=FiniteFloat(min=0, min_open=True),
            help="Hard cap in USD, as --max-tokens-total (the worst case is reserved before anything is sent, so "
            "the cap is never passed); needs --price-input and --price-output. Exit 3 when reached.",
        ),
        click.option(
            "--price-input",
            type=FiniteFloat(min=0),
            envvar="SELFINSTRUCT_PRICE_INPUT",
            show_envvar=True,
            help="USD per 1M prompt tokens (for --max-cost, the cost in the summary and the --dry-run estimate).",
        ),
        click.option(
            "--price-output",
            type=FiniteFloat(min=0),
            envvar="SELFINSTRUCT_PRICE_OUTPUT",
            show_envvar=True,
            help="USD per 1M completion tokens.",
        ),
        click.option(
            "--batch-discount",
            type=FiniteFloat(0, 1),
            envvar="SELFINSTRUCT_BATCH_DISCOUNT",
            show_envvar=True,
            help="With --batch: the share of --price-input/--price-output a batch costs [default: 0.5, OpenAI's].",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


T = TypeVar("T")


def cli_options(cls: type[T], opts: dict[str, Any]) -> T:
    """A command's typed options from click's values: every field the class has (the display flags, such as
    -q and --json, stay with the CLI); a flag left out is None or its default, as click gives it."""
    names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    return cls(**{k: v for k, v in opts.items() if k in names})
