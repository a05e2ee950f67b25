"""How a generate run ended: its status, what it added and what it cost."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from selfinstruct.engine.types import Prices, Spend


@dataclass
class RunReport:
    status: str  # complete | nothing_to_do | budget | saturated | unusable
    accepted: int
    target: int
    new_tasks: int
    run: Spend  # this run
    total: Spend  # the run directory, all runs together
    rejected: Counter[str]
    message: str = ""
    prices: Prices | None = None

    @property
    def requests_per_task(self) -> float | None:
        """Requests this run paid per task it added."""
        return self.run.requests / self.new_tasks if self.new_tasks else None
