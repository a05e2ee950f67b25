"""How long commands (`generate`, `audit`) show progress: a tqdm bar on a terminal, a log line every 10 s without
one (nohup, Slurm, CI)."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Any, TextIO

from tqdm import tqdm

from selfinstruct.engine.budget import usd

LOG_EVERY = 10.0  # seconds between log lines when stderr is not a terminal


def describe(postfix: dict[str, Any]) -> str:
    """The counters in a line: what is in flight and waiting now, then the run directory's totals."""
    parts = [f"{postfix.get('in_flight', 0)} in flight"]
    if postfix.get("waiting"):
        parts.append(str(postfix["waiting"]))
    parts += [f"{postfix.get('requests', 0):,} requests", f"{postfix.get('retries', 0):,} retries"]
    parts += [f"{postfix[key]:,} {key}" for key in ("rejected", "unreadable") if key in postfix]
    parts.append(f"{postfix.get('tokens', 0):,} tokens")
    if "cost" in postfix:
        parts.append(usd(float(postfix["cost"])))
    return ", ".join(parts)


class ProgressView:
    """Receives (items done, counters) from the run and shows them on stderr."""

    def __init__(
        self,
        total: int,
        *,
        command: str = "generate",
        unit: str = "task",  # what `done` counts (the audit: instances)
        quiet: bool = False,
        interactive: bool | None = None,
        stream: TextIO | None = None,
        clock: Callable[[], float] = time.monotonic,
        every: float = LOG_EVERY,
    ) -> None:
        self.stream = stream or sys.stderr
        self.interactive = self.stream.isatty() if interactive is None else interactive
        self.total, self.command, self.quiet, self.clock, self.every = total, command, quiet, clock, every
        self.unit = unit
        self._last: float | None = None
        self._bar: tqdm[Any] | None = None
        if self.interactive and not quiet:
            self._bar = tqdm(total=total, desc=f"{unit}s", unit=f" {unit}", file=self.stream, dynamic_ncols=True)

    def __call__(self, done: int, postfix: dict[str, Any]) -> None:
        if self._bar is not None:
            self._bar.update(done - self._bar.n)
            self._bar.set_postfix_str(describe(postfix))
        elif not self.quiet:
            now = self.clock()
            if self._last is None or now - self._last >= self.every:
                self._last = now
                stamp = time.strftime("%H:%M:%S")
                self.stream.write(f"{stamp} {self.command}: {done}/{self.total} {self.unit}s; {describe(postfix)}\n")
                self.stream.flush()

    def set_total(self, total: int) -> None:
        """The bar's length, once the command knows it (the audit, after reading the pool)."""
        self.total = total
        if self._bar is not None:
            self._bar.total = total
            self._bar.refresh()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
