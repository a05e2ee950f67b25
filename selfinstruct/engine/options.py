"""The options every command that sends requests shares, as typed values, and the ranges each may take.

From the command line click reads flags and environment variables and checks these ranges; from Python the
same ranges are checked by `check_bounds` when the settings are resolved, so a library call with `n=0` or a
NaN timeout is the same one-line InputError as the flag. The CLI's option types are checked against `Bound`
tables by a test, so the two cannot drift.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from selfinstruct.errors import InputError


@dataclass(frozen=True)
class Bound:
    """The values an option takes: within [low, high] (low excluded when `low_open`), whole when `integer`."""

    low: float | None = None
    high: float | None = None
    low_open: bool = False
    integer: bool = False
    flag: str = ""  # the command line's name for it, when it is not --name-with-dashes

    def check(self, name: str, value: object) -> None:
        flag = self.flag or "--" + name.replace("_", "-")
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise InputError(f"{flag} {value!r}: give a number")
        if not math.isfinite(value) or (self.integer and value != int(value)):
            raise InputError(f"{flag} {value!r}: give a {'whole ' if self.integer else 'finite '}number")
        low_ok = self.low is None or (value > self.low if self.low_open else value >= self.low)
        if not low_ok or (self.high is not None and value > self.high):
            raise InputError(f"{flag} {value!r}: give a number {self.describe()}")

    def describe(self) -> str:
        low = "" if self.low is None else f"{'above' if self.low_open else 'at least'} {self.low:g}"
        high = "" if self.high is None else f"at most {self.high:g}"
        return " and ".join(part for part in (low, high) if part)


def check_bounds(options: object, bounds: Mapping[str, Bound]) -> None:
    """Every given (not None) option within its range; the first one that is not is an InputError."""
    for name, bound in bounds.items():
        value = getattr(options, name)
        if value is not None:
            bound.check(name, value)


def check_choices(options: object, choices: Mapping[str, tuple[str, ...]]) -> None:
    """Every given (not None) option one of its choices; the first one that is not is an InputError."""
    for name, allowed in choices.items():
        value = getattr(options, name)
        if value is not None and value not in allowed:
            flag = "--" + name.replace("_", "-")
            raise InputError(f"{flag} {value!r}: choose one of {', '.join(allowed)}")


@dataclass(frozen=True)
class EngineOptions:
    """The engine's options, as a user gives them (None: not given; the command's default then applies).

    Attributes:
        concurrency: requests in flight (default 8; 2 for the embedded model).
        rpm, tpm: requests and (estimated) tokens per minute limits.
        timeout: seconds one attempt may take (the embedded model: seconds without a new token).
        max_retries: retries of a request on 429, 5xx, timeouts and dropped connections.
        max_tokens_total, max_cost: hard caps, in tokens and in USD (with prices).
        price_input, price_output: USD per 1M prompt and completion tokens.
        batch: send through OpenAI's Batch API; batch_discount: the share of the prices a batch costs;
            batch_poll: seconds between status checks.
        local_model: a GGUF file to serve with the embedded llama.cpp server instead of the bundled model.
        prompts_dir: templates overriding the bundled ones.
        dry_run: render the prompts and estimate the cost; call no model.
    """

    concurrency: int | None = None
    rpm: float | None = None
    tpm: float | None = None
    timeout: float = 120.0
    max_retries: int = 6
    max_tokens_total: int | None = None
    max_cost: float | None = None
    price_input: float | None = None
    price_output: float | None = None
    batch_discount: float | None = None
    batch: bool = False
    batch_poll: float = 5.0
    local_model: str | Path | None = None
    prompts_dir: str | Path | None = None
    dry_run: bool = False


ENGINE_BOUNDS: dict[str, Bound] = {
    "concurrency": Bound(1, 1024, integer=True),
    "rpm": Bound(0, low_open=True),
    "tpm": Bound(0, low_open=True),
    "timeout": Bound(0, low_open=True),
    "max_retries": Bound(0, 100, integer=True),
    "max_tokens_total": Bound(1, integer=True),
    "max_cost": Bound(0, low_open=True),
    "price_input": Bound(0),
    "price_output": Bound(0),
    "batch_discount": Bound(0, 1),
    "batch_poll": Bound(0.01),
}
