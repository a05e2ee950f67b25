"""The generation methods, by name (`generate --method`). A new method is one folder with a `METHOD` and one
line here."""

from __future__ import annotations

from selfinstruct.methods.alpaca.method import METHOD as ALPACA
from selfinstruct.methods.base import Method
from selfinstruct.methods.self_instruct.method import METHOD as SELF_INSTRUCT

METHODS: dict[str, Method] = {m.name: m for m in (SELF_INSTRUCT, ALPACA)}


def method_named(name: str) -> Method:
    """The registered method; settings are checked against the registry, so an unknown name is a bug."""
    return METHODS[name]
