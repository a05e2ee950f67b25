"""`-h` is every command's help, through the group or with the command object invoked on its own."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from selfinstruct.cli.app import cli


@pytest.mark.parametrize("name", sorted(cli.commands))
def test_h_is_help_for_a_command_invoked_on_its_own(name: str) -> None:
    """Only the group set `-h`: a command invoked on its own took just `--help`, and click kept that help option for
    the group's later calls, so docs/cli.md rendered without `-h` after such a test (test_docs failed by order)."""
    alone = CliRunner().invoke(cli.commands[name], ["-h"], terminal_width=100)
    assert alone.exit_code == 0 and "-h, --help" in alone.output, alone.output
    grouped = CliRunner().invoke(cli, [name, "-h"], terminal_width=100)
    assert grouped.exit_code == 0 and grouped.output.split("Options:")[1] == alone.output.split("Options:")[1]
