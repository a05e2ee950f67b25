"""hf: a Hugging Face dataset folder (Parquet splits, a dataset card, LLaMA-Factory and axolotl configs).

Each row keeps the task id, instruction, input and output beside the conversation in TRL's message shape.
The folder's writer and pyarrow are imported only when this format is used.
"""

from __future__ import annotations

from typing import Any

from selfinstruct.export.format import ExportFormat, Record, RecordContext, messages
from selfinstruct.export.settings import ExportSettings
from selfinstruct.tasks import Instance, Task

VALIDATION_SPLIT = 0.05  # the folder is for trainers, which want an evaluation split


def _record(task: Task, inst: Instance, ctx: RecordContext) -> Record:
    return {"task_id": task.id, "instruction": task.instruction, "input": inst.input, "output": inst.output,
            "messages": messages(task, inst, ctx.settings)}  # fmt: skip


def _prepare(settings: ExportSettings) -> None:
    from selfinstruct.export.hf.dataset import check_target, require_pyarrow

    require_pyarrow()
    check_target(settings.out)


def _write_folder(*args: Any, **kwargs: Any) -> None:
    from selfinstruct.export.hf.dataset import write_dataset_folder

    write_dataset_folder(*args, **kwargs)


FORMAT = ExportFormat(
    "hf",
    "a Hugging Face dataset folder: Parquet train/validation splits, a dataset card, trainer configs",
    _record,
    system_turn=True,
    folder=True,
    default_validation_split=VALIDATION_SPLIT,
    prepare=_prepare,
    write_folder=_write_folder,
)
