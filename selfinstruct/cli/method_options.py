"""`generate`'s --method and each method's own options, built from the method registry, so that a method's
flags come with its folder (`Method.options`) and this package never names one.

The options are rebuilt from the registry whenever click asks for the command's parameters (`RegistryCommand`),
so a method registered after import (a plugin, a test's toy method) is a --method choice with its flags, in
--help and on the command line alike.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from selfinstruct.cli.common import FiniteFloat
from selfinstruct.methods.options import MethodOption
from selfinstruct.methods.registry import METHODS, method_options

F = TypeVar("F", bound=Callable[..., Any])


class _FromRegistry(click.Option):
    """An option built from the registry; `group` says which builder makes it again."""

    def __init__(self, *args: Any, group: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.group = group


def _method_choice() -> list[click.Option]:
    help_text = (
        "The generation method (--mode is its older name). "
        + "; ".join(f"{name}: {method.summary}" for name, method in METHODS.items())
        + "."
    )
    return [_FromRegistry(["--method", "--mode", "mode"], group="method", type=click.Choice(list(METHODS)),
                          default="self-instruct", show_default=True, help=help_text)]  # fmt: skip


def _click_type(spec: MethodOption[Any]) -> click.ParamType[Any]:
    """The flag's type, from the declaration: click then refuses what the settings would (and says so first)."""
    if spec.kind is str:
        return click.Choice(spec.choices) if spec.choices else click.STRING
    low, high = (spec.bound.low, spec.bound.high) if spec.bound else (None, None)
    open_ = bool(spec.bound and spec.bound.low_open)
    if spec.kind is int:
        return click.IntRange(None if low is None else int(low), None if high is None else int(high), min_open=open_)
    return FiniteFloat(low, high, min_open=open_)


def _own_options() -> list[click.Option]:
    out: list[click.Option] = []
    for spec, takers in method_options().values():
        help_text = f"--method {', '.join(takers)}: {spec.help}"
        out.append(_FromRegistry([spec.flag, spec.name], group="own", type=_click_type(spec), default=None,
                                 metavar=spec.metavar, help=help_text))  # fmt: skip
    return out


_BUILDERS: dict[str, Callable[[], list[click.Option]]] = {"method": _method_choice, "own": _own_options}


def _attach(group: str) -> Callable[[F], F]:
    def decorate(f: F) -> F:
        # click's decorators add to __click_params__ in reverse order of application, as click.option does.
        # With none registered yet, a hidden mark keeps the place for those registered later.
        built = _BUILDERS[group]() or [_FromRegistry([f"--{group}-options-mark"], group=group, hidden=True,
                                                     expose_value=False)]  # fmt: skip
        params = getattr(f, "__click_params__", [])
        params.extend(reversed(built))
        f.__click_params__ = params  # type: ignore[attr-defined]
        return f

    return decorate


method_choice = _attach("method")  # --method / --mode: the registered methods, with their summaries
own_method_options = _attach("own")  # one flag per option a registered method declares


class RegistryCommand(click.Command):
    """A command whose registry-built options are built again from the registry each time click reads them."""

    def get_params(self, ctx: click.Context) -> list[click.Parameter]:
        out: list[click.Parameter] = []
        done: set[str] = set()
        for param in super().get_params(ctx):
            if not isinstance(param, _FromRegistry):
                out.append(param)
            elif param.group not in done:
                done.add(param.group)
                out.extend(_BUILDERS[param.group]())
        return out


def given_method_options(opts: dict[str, Any]) -> dict[str, Any]:
    """The method options the command line gave (None: not given), for GenerateOptions.method_options."""
    return {name: opts[name] for name in method_options() if opts.get(name) is not None}
