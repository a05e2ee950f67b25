"""alpaca: {"instruction", "input", "output"}, as Stanford Alpaca's alpaca_data.json."""

from __future__ import annotations

from selfinstruct.export.format import ExportFormat, Record, RecordContext
from selfinstruct.tasks import Instance, Task


def _record(task: Task, inst: Instance, ctx: RecordContext) -> Record:
    return {"instruction": task.instruction, "input": inst.input, "output": inst.output}


FORMAT = ExportFormat("alpaca", "{instruction, input, output}, as Stanford Alpaca's alpaca_data.json", _record)
