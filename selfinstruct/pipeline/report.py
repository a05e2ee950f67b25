"""How a generate run ended: its status, what it added and what it cost."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from selfinstruct.engine.types import Prices, Spend, StepPrices, Usage


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
    prices: Prices | None = None  # the main model's
    run_cost: float | None = None  # each step at its model's prices (None: a model without prices)
    total_cost: float | None = None

    def cost(self, spend: Spend) -> float | None:
        """What `run` or `total` cost."""
        return self.run_cost if spend is self.run else self.total_cost

    @property
    def requests_per_task(self) -> float | None:
        """Requests this run paid per task it added."""
        return self.run.requests / self.new_tasks if self.new_tasks else None


def report_costs(pricing: StepPrices, usage: Usage, baseline_cost: float | None) -> dict[str, float | None]:
    """RunReport's run_cost and total_cost: the run directory's spend priced per step, less what it cost before."""
    total = pricing.cost(usage)
    run = total - baseline_cost if total is not None and baseline_cost is not None else None
    return {"run_cost": run, "total_cost": total}
