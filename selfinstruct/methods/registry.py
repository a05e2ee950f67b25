"""The generation methods, by name (`generate --method`). A new method is one folder with a `METHOD` and one
line here; its own options (`Method.options`) come with it."""

from __future__ import annotations

from typing import Any

from selfinstruct.methods.alpaca.method import METHOD as ALPACA
from selfinstruct.methods.base import Method
from selfinstruct.methods.evol_instruct.method import METHOD as EVOL_INSTRUCT
from selfinstruct.methods.magpie.method import METHOD as MAGPIE
from selfinstruct.methods.options import MethodOption
from selfinstruct.methods.self_instruct.method import METHOD as SELF_INSTRUCT

METHODS: dict[str, Method] = {m.name: m for m in (SELF_INSTRUCT, ALPACA, MAGPIE, EVOL_INSTRUCT)}
# Every method's template names, so that a --prompts directory holding another method's files is no mistake.
TEMPLATE_NAMES: tuple[str, ...] = tuple(name for m in METHODS.values() for name in m.prompt_templates)


def method_named(name: str) -> Method:
    """The registered method; settings are checked against the registry, so an unknown name is a bug."""
    return METHODS[name]


def method_options() -> dict[str, tuple[MethodOption[Any], tuple[str, ...]]]:
    """Every registered method's own options by name, each with the methods that take it (read from the
    registry when asked, so a method registered later counts). Methods sharing an option name share its
    declaration: the first one's is the flag's."""
    out: dict[str, tuple[MethodOption[Any], tuple[str, ...]]] = {}
    for method in METHODS.values():
        for option in method.options:
            spec, takers = out.get(option.name, (option, ()))
            out[option.name] = (spec, (*takers, method.name))
    return out
