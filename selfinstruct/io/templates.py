"""Editable prompt templates: plain text files with {{placeholders}}, one per step of a method or command.

`--prompts DIR` overrides any subset of the files (DIR/<language>/ or DIR itself); missing files fall back to
the bundled ones, so a user can steer just the instruction prompt to a domain.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path

from selfinstruct.errors import InputError
from selfinstruct.io.records import read_text
from selfinstruct.io.resources import bundled_dir

# A template's placeholders: those it may use, and those it must use.
Placeholders = tuple[frozenset[str], frozenset[str]]

_PLACEHOLDER = re.compile(r"\{\{\s*(\w+)\s*\}\}")


@dataclass(frozen=True)
class Template:
    name: str
    text: str
    path: Path

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()

    def render(self, **values: object) -> str:
        def fill(match: re.Match[str]) -> str:
            return str(values[match.group(1)])

        return _PLACEHOLDER.sub(fill, self.text)


def _load(name: str, path: Path, placeholders: Placeholders) -> Template:
    text = read_text(path)
    allowed, required = placeholders
    used = {m.group(1) for m in _PLACEHOLDER.finditer(text)}
    unknown = sorted(used - allowed)
    if unknown:
        raise InputError(
            f"unknown placeholder {{{{{unknown[0]}}}}}; {name}.txt may use "
            + ", ".join(f"{{{{{p}}}}}" for p in sorted(allowed)),
            path=path,
        )
    missing = sorted(required - used)
    if missing:
        raise InputError(f"the template must contain {{{{{missing[0]}}}}}", path=path)
    return Template(name, text, path)


@dataclass(frozen=True)
class PromptSet:
    templates: dict[str, Template]

    def __getitem__(self, name: str) -> Template:
        return self.templates[name]

    def fingerprint(self) -> dict[str, dict[str, str]]:
        return {n: {"path": str(t.path), "sha256": t.sha256} for n, t in sorted(self.templates.items())}


def load_prompts(
    language: str, override: Path | None, declared: Mapping[str, Placeholders], known: Collection[str] = ()
) -> PromptSet:
    """The `declared` templates for a language, with a user's directory taking precedence file by file.
    `known`: every template name any command reads, so that a directory of another command's files is not
    taken for a mistake."""
    base = bundled_dir("prompts") / language
    user: Path | None = None
    if override is not None:
        if not override.is_dir():
            raise InputError("--prompts must be a directory of .txt templates", path=override)
        user = override / language if (override / language).is_dir() else override
        known_files = {f"{n}.txt" for n in (*declared, *known)}
        strays = sorted(p.name for p in user.glob("*.txt") if p.name not in known_files)
        if strays and not any((user / k).exists() for k in known_files):
            raise InputError(
                f"no known template here (found {strays[0]}); expected one of {', '.join(sorted(known_files))}",
                path=user,
            )
    templates = {}
    for name, placeholders in declared.items():
        path = user / f"{name}.txt" if user is not None and (user / f"{name}.txt").is_file() else base / f"{name}.txt"
        templates[name] = _load(name, path, placeholders)
    return PromptSet(templates)
