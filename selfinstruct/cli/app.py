"""The `selfinstruct` command group: one-line errors and exit codes for every command, which live one per module.

Each command parses its options, calls one library function and renders the result."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import Any

import click

from selfinstruct.cli.audit import audit_cmd
from selfinstruct.cli.common import CONTEXT_SETTINGS, os_error_line
from selfinstruct.cli.decontaminate import decontaminate_cmd
from selfinstruct.cli.export import export_cmd
from selfinstruct.cli.filter import filter_cmd
from selfinstruct.cli.generate import generate
from selfinstruct.cli.prefer import prefer_cmd
from selfinstruct.cli.respond import respond_cmd
from selfinstruct.cli.stats import stats_cmd
from selfinstruct.cli.validate import validate
from selfinstruct.version import __version__


class OneLineErrorGroup(click.Group):
    """Usage errors (bad option values, unknown commands) become one line on stderr and exit code 2; OS errors
    of any command (a full disk, a read-only file system) one line naming the path, exit code 1."""

    def main(  # type: ignore[override]
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        standalone_mode: bool = True,
        **kw: Any,
    ) -> Any:
        if not standalone_mode:
            return super().main(args, prog_name, standalone_mode=False, **kw)
        try:
            result = super().main(args, prog_name, standalone_mode=False, **kw)
        except click.exceptions.Abort:
            click.echo("Aborted.", err=True)
            sys.exit(130)
        except click.ClickException as exc:
            ctx = getattr(exc, "ctx", None)
            hint = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
            click.echo(f"Error: {exc.format_message()}{hint}", err=True)
            sys.exit(exc.exit_code)
        except BrokenPipeError:  # stdout closed early (`| head`): nothing left to say to anyone
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            sys.exit(1)
        except OSError as exc:  # a full disk, a read-only file system, a file where a directory should be
            click.echo(f"Error: {os_error_line(exc)}", err=True)
            sys.exit(1)
        sys.exit(result if isinstance(result, int) else 0)


@click.group(
    cls=OneLineErrorGroup,
    context_settings=CONTEXT_SETTINGS,
)
@click.version_option(__version__, prog_name="selfinstruct")
def cli() -> None:
    """Grow an instruction-tuning dataset from seed tasks (Self-Instruct / Alpaca) with any
    OpenAI-compatible LLM, and filter, inspect and export it.
    """


def main() -> None:
    """Console-script entry point."""
    cli.main(prog_name="selfinstruct")


for command in (
    generate,
    filter_cmd,
    decontaminate_cmd,
    validate,
    stats_cmd,
    export_cmd,
    audit_cmd,
    respond_cmd,
    prefer_cmd,
):
    cli.add_command(command)
