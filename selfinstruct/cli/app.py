"""The `selfinstruct` command group: one-line errors and exit codes for every command, which live one per module.

Each command parses its options, calls one library function and renders the result."""

from __future__ import annotations

import contextlib
import importlib
import os
import sys
from collections.abc import Iterator, MutableMapping, Sequence
from typing import Any

import click

from selfinstruct.cli.common import CONTEXT_SETTINGS, os_error_line
from selfinstruct.engine.signals import signals_interrupt
from selfinstruct.errors import Terminated
from selfinstruct.version import __version__

# Each command's module, in the order docs/cli.md lists them. A command is imported when it is run or its help
# shown: importing all nine (audit, export, stats, respond, prefer...) cost every invocation ~0.15 s of CPU that
# `generate` and most commands never use (python -X importtime, issue 26).
COMMANDS = {
    "generate": "selfinstruct.cli.generate:generate",
    "filter": "selfinstruct.cli.filter:filter_cmd",
    "decontaminate": "selfinstruct.cli.decontaminate:decontaminate_cmd",
    "validate": "selfinstruct.cli.validate:validate",
    "stats": "selfinstruct.cli.stats:stats_cmd",
    "export": "selfinstruct.cli.export:export_cmd",
    "audit": "selfinstruct.cli.audit:audit_cmd",
    "respond": "selfinstruct.cli.respond:respond_cmd",
    "prefer": "selfinstruct.cli.prefer:prefer_cmd",
}


class LazyCommands(MutableMapping[str, click.Command]):
    """The group's commands by name (click.Group.commands), each imported from its module on first use."""

    def __init__(self, where: dict[str, str]) -> None:
        self._where = dict(where)
        self._loaded: dict[str, click.Command] = {}

    def __getitem__(self, name: str) -> click.Command:
        if name not in self._loaded:
            module, attr = self._where[name].split(":")  # KeyError for an unknown name, as a dict
            self._loaded[name] = getattr(importlib.import_module(module), attr)
        return self._loaded[name]

    def __setitem__(self, name: str, command: click.Command) -> None:
        self._where.setdefault(name, "")
        self._loaded[name] = command

    def __delitem__(self, name: str) -> None:
        del self._where[name]
        self._loaded.pop(name, None)

    def __iter__(self) -> Iterator[str]:
        return iter(self._where)

    def __len__(self) -> int:
        return len(self._where)


class OneLineErrorGroup(click.Group):
    """Usage errors (bad option values, unknown commands) become one line on stderr and exit code 2; OS errors
    of any command (a full disk, a read-only file system) one line naming the path, exit code 1; Ctrl-C, SIGTERM
    and SIGHUP in a command that does not say more itself "Aborted." (by SIGTERM...), exit code 130 (143, 129)."""

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
            with signals_interrupt():
                result = super().main(args, prog_name, standalone_mode=False, **kw)
        except click.exceptions.Abort as exc:  # Ctrl-C, SIGTERM or SIGHUP in a command that did not handle it
            cause = exc.__cause__
            by = f" by {cause}" if isinstance(cause, Terminated) else ""
            with contextlib.suppress(OSError):  # after a SIGHUP the terminal may be gone
                click.echo(f"Aborted{by}.", err=True)
            sys.exit(cause.exit_code if isinstance(cause, Terminated) else 130)
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


cli.commands = LazyCommands(COMMANDS)
