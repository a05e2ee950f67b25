"""What a command costs before it does anything: the modules of the other commands are not imported."""

from __future__ import annotations

import subprocess
import sys

import pytest

# Modules only other commands use: each import took CPU from every invocation (issue 26, `python -X importtime`).
OTHER_COMMANDS = (
    "selfinstruct.cli.audit",
    "selfinstruct.cli.export",
    "selfinstruct.cli.stats",
    "selfinstruct.cli.respond",
    "selfinstruct.cli.prefer",
    "selfinstruct.audit.run",
    "selfinstruct.export.write",
    "selfinstruct.stats.compute",
)


@pytest.mark.parametrize("args", [["--version"], ["generate", "--help"], ["filter", "--help"]])
def test_a_command_imports_no_other_command(args: list[str]) -> None:
    """Before, cli/app.py imported all nine commands' modules, so `--version` took 0.5 s and `generate` paid
    ~0.15 s of CPU for audit, export, stats, respond and prefer; now each is imported when it is run."""
    code = (
        "import sys\n"
        "from click.testing import CliRunner\n"
        "from selfinstruct.cli.app import cli\n"
        f"result = CliRunner().invoke(cli, {args!r})\n"
        "assert result.exit_code == 0, result.output\n"
        f"print(sorted(m for m in {OTHER_COMMANDS!r} if m in sys.modules))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]", f"selfinstruct {' '.join(args)} imported {result.stdout.strip()}"


def test_every_command_is_listed_and_found_by_name() -> None:
    """The lazy registry is the group's `commands`: iterated in docs/cli.md's order, each one loadable."""
    from selfinstruct.cli.app import COMMANDS, cli

    assert list(cli.commands) == list(COMMANDS)
    assert [cli.commands[name].name for name in cli.commands] == list(COMMANDS)
    with pytest.raises(KeyError):
        cli.commands["generat"]
