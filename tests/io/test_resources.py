"""The bundled prompts and seeds are package data, read with importlib.resources along one code path: in this
checkout through the links in selfinstruct/_bundled, so that the top-level prompts/ and seeds/ stay the source."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

import pytest

from selfinstruct.io.resources import bundled_dir, default_seeds


@pytest.mark.parametrize("name", ["prompts", "seeds"])
def test_the_package_data_is_the_top_level_folder_in_a_checkout(name: str, root: Path) -> None:
    data = files("selfinstruct") / "_bundled" / name
    assert isinstance(data, Path) and data.is_symlink() and data.is_dir()
    assert bundled_dir(name) == data.resolve() == (root / name).resolve()


def test_a_wheel_copies_the_same_folders_to_the_same_place(root: Path) -> None:
    """The wheel leaves the links out and force-includes the folders they point to, at the links' place (an
    sdist carries the folders, not the links, so a wheel built from it has them too)."""
    bundled = root / "selfinstruct" / "_bundled"
    assert {p.name: p.readlink() for p in bundled.iterdir()} == {n: Path("..", "..", n) for n in ("prompts", "seeds")}
    pyproject = (root / "pyproject.toml").read_text(encoding="utf-8")
    wheel = pyproject.split("[tool.hatch.build.targets.wheel]\n", 1)[1].split("\n[tool.", 1)[0]
    assert 'exclude = ["selfinstruct/_bundled"]' in wheel
    force = pyproject.split("[tool.hatch.build.targets.wheel.force-include]\n", 1)[1].split("\n\n", 1)[0]
    assert force.splitlines() == [
        '"prompts" = "selfinstruct/_bundled/prompts"',
        '"seeds" = "selfinstruct/_bundled/seeds"',
    ]


def test_default_seeds_per_language(seed_files: dict[str, Path]) -> None:
    assert {lang: default_seeds(lang) for lang in seed_files} == {k: v.resolve() for k, v in seed_files.items()}
