"""A method's own generate options, declared beside the method rather than wired through the shared layers.

A method lists its `MethodOption`s on `Method.options`. From that one declaration `generate` gets a flag (help
prefixed with the methods that take it), the settings check the value (type, range, NaN, choices: an InputError
naming the flag, as for every other option), refuse it for a method that does not declare it, fill in its
default, and record it in run.json for a resume to compare when it changes what is generated. The method reads
the resolved value back with `OPTION.value(settings)`. The CLI and the pipeline never name one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar, cast

from selfinstruct.engine.options import Bound
from selfinstruct.errors import InputError

T = TypeVar("T")
Kind = type[str] | type[int] | type[float]
_KIND_WORDS: dict[type, str] = {str: "a text", int: "a whole number", float: "a number"}


class HasMethodOptions(Protocol):
    """Settings that carry the resolved method options (the pipeline's GenerateSettings)."""

    @property
    def method_options(self) -> Mapping[str, object]: ...


@dataclass(frozen=True)
class MethodOption(Generic[T]):
    """One option of one method: its Python name (the key of `method_options`; the flag is --name-with-dashes),
    its type, its default (None: "not set", for the method to decide), the values it takes and its help.

    `recorded`: the option changes what is generated, so run.json records its value (`settings.method_options`)
    and a resume with another value is refused. False when the method's `setup` records what the option decided
    instead (Magpie's template, whichever way it was found), which a resume compares already.
    """

    name: str
    kind: Kind
    default: T
    help: str
    bound: Bound | None = None  # for numbers: the range (integer=True is implied by kind int)
    choices: tuple[str, ...] = ()  # for texts: the values it takes (empty: any)
    metavar: str | None = None
    recorded: bool = True

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    def resolve(self, given: object) -> T:
        """The value a run uses: `given` checked (None: not given, the default), else an InputError naming the
        flag; numbers as the option's kind (2.0 for a whole number is 2)."""
        if given is None:
            return self.default
        if self.kind is str:
            if not isinstance(given, str):
                raise InputError(f"{self.flag} {given!r}: give {_KIND_WORDS[str]}")
            if self.choices and given not in self.choices:
                raise InputError(f"{self.flag} {given!r}: choose one of {', '.join(self.choices)}")
            return cast(T, given)
        bound = self.bound or Bound()
        if self.kind is int and not bound.integer:
            bound = Bound(bound.low, bound.high, bound.low_open, integer=True, flag=bound.flag)
        bound.check(self.name, given)  # a number, finite (NaN fails), whole for int, within the range
        return cast(T, self.kind(cast(float, given)))

    def value(self, settings: HasMethodOptions) -> T:
        """The resolved value in a run's settings (the default when the settings were built without it)."""
        return cast(T, settings.method_options.get(self.name, self.default))
