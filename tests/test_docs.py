"""The docs cannot drift: the CLI reference matches `--help`, links resolve, the README stays short and its test
command installs what CI installs."""

from __future__ import annotations

import difflib
import importlib.util
import re
import shlex
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
DOCS = ROOT / "docs"
README_LIMIT = 12_000

LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
FENCE = re.compile(r"^```.*?^```", re.S | re.M)
INLINE_CODE = re.compile(r"`[^`\n]*`")


def _cli_reference() -> ModuleType:
    spec = importlib.util.spec_from_file_location("cli_reference", DOCS / "cli_reference.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _pages() -> list[Path]:
    return [README, ROOT / "benchmarks" / "README.md", *sorted(DOCS.glob("*.md"))]


def _links(page: Path) -> list[str]:
    text = INLINE_CODE.sub("", FENCE.sub("", page.read_text(encoding="utf-8")))
    return LINK.findall(text)


def test_cli_reference_is_current() -> None:
    rendered = _cli_reference().render()
    on_disk = (DOCS / "cli.md").read_text(encoding="utf-8")
    if rendered != on_disk:
        diff = difflib.unified_diff(on_disk.splitlines(), rendered.splitlines(), "docs/cli.md", "rendered", lineterm="")
        shown = "\n".join(list(diff)[:40])  # which option differs, so an order-dependent failure can be traced
        pytest.fail(f"docs/cli.md is stale: run python docs/cli_reference.py\n{shown}")


def test_cli_reference_covers_every_command() -> None:
    from selfinstruct.cli.app import cli

    on_disk = (DOCS / "cli.md").read_text(encoding="utf-8")
    for name in cli.commands:
        assert f"Usage: selfinstruct {name} [OPTIONS]" in on_disk


@pytest.mark.parametrize("page", _pages(), ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_name_existing_files(page: Path) -> None:
    relative = [t for t in _links(page) if not re.match(r"[a-z][a-z0-9+.-]*:", t)]
    with_anchor = [t for t in relative if "#" in t]
    assert not with_anchor, f"{page.name}: link to a file, not an anchor (anchors are not checked): {with_anchor}"
    missing = [t for t in relative if not (page.parent / t).exists()]
    assert not missing, f"{page.name}: links to missing files: {missing}"


def test_every_docs_page_is_linked_from_the_index() -> None:
    linked = {(DOCS / t).resolve() for t in _links(DOCS / "index.md")}
    unlinked = [p.name for p in DOCS.glob("*.md") if p.name != "index.md" and p.resolve() not in linked]
    assert not unlinked, f"docs/index.md does not link: {unlinked}"


def test_readme_is_short() -> None:
    size = len(README.read_bytes())
    assert size < README_LIMIT, f"README.md is {size} bytes; keep it under {README_LIMIT} and move detail to docs/"


def _pip_installs(command: str) -> set[str]:
    """The arguments of each `pip install` in a shell command or script, without --quiet/--upgrade noise."""
    found = set()
    for part in re.split(r"&&|\n", command):
        words = shlex.split(part, comments=True)
        if "pip" in [Path(w).name for w in words] and "install" in words:
            args = [w for w in words[words.index("install") + 1 :] if w not in ("--quiet", "-q")]
            if args and args != ["--upgrade", "pip"]:
                found.add(" ".join(args))
    return found


def test_readme_test_command_installs_what_ci_installs() -> None:
    readme = README.read_text(encoding="utf-8")
    section = readme.split("## Tests", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```bash\n(.*?)```", section, re.S)
    assert len(blocks) == 1, "the README's Tests section has one command"
    command = blocks[0].strip()
    assert command.endswith("python -m pytest")
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert _pip_installs(command) == _pip_installs(ci), "README's test command and .ci/run install different things"
