"""The task record shared by seeds, the pool and exports: the Self-Instruct seed format."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Instance:
    input: str
    output: str

    def to_dict(self) -> dict[str, str]:
        return {"input": self.input, "output": self.output}


@dataclass(frozen=True)
class Task:
    """One task: an instruction, its instances, and whether its outputs come from a finite label set.

    ``is_classification`` is None when unknown (e.g. Alpaca records); the generator asks the LLM then.
    ``extra`` keeps every other field of the source record so nothing a user had is lost.
    """

    id: str
    instruction: str
    instances: tuple[Instance, ...] = ()
    is_classification: bool | None = None
    name: str | None = None
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    def to_dict(self) -> dict[str, Any]:
        """The seed-format dict (id, name, instruction, instances, is_classification, then extra fields)."""
        out: dict[str, Any] = {"id": self.id}
        if self.name is not None:
            out["name"] = self.name
        out["instruction"] = self.instruction
        out["instances"] = [i.to_dict() for i in self.instances]
        out["is_classification"] = self.is_classification
        for key, value in self.extra.items():
            out.setdefault(key, value)
        return out
