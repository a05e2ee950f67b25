"""Pieces every command shares: error rendering, -q/-v, output path checks."""

from __future__ import annotations

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
