"""`export --format hf`: a Hugging Face dataset folder that `datasets.load_dataset(folder)` loads and
`hf upload` publishes as it is.

    folder/
      README.md                  dataset card: the Hub's YAML header (splits under `configs:`) + how it was made
      data/train-00000-of-00001.parquet, data/validation-00000-of-00001.parquet
      dataset_info.json          LLaMA-Factory's entry (`dataset_dir: folder`)
      axolotl.yaml               axolotl's `datasets:` / `test_datasets:` snippet
      chat_template.jinja        ChatML with {% generation %} markers, for TRL's assistant-only loss

Nothing in the folder names a local path (it is uploaded as it is): the card and configs name the folder
by its own name.

The folder is built beside the target and renamed into place, so a failure leaves no half-written dataset;
an existing folder is replaced only when it is empty or an earlier hf export.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from selfinstruct.errors import InputError
from selfinstruct.export.chat_template import FOLDER_NAME, chat_template
from selfinstruct.export.hf.card import MARKER, CardInput, SplitInfo, render_card
from selfinstruct.export.hf.provenance import gather
from selfinstruct.export.result import ExportResult
from selfinstruct.export.settings import ExportSettings
from selfinstruct.io.records import atomic_writer, umask

INSTALL_HINT = 'pip install "selfinstruct[hf]"'
OUR_FILES = {"README.md", "data", "dataset_info.json", "axolotl.yaml", FOLDER_NAME}
DATA_FILE = "data/{split}-00000-of-00001.parquet"


def require_pyarrow() -> None:
    """Raise the install hint before any work when pyarrow is missing."""
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        raise InputError(f"--format hf writes Parquet with pyarrow: {INSTALL_HINT}") from None


def dataset_name(folder: Path) -> str:
    """A name for the trainers' configs: the folder's name in letters, digits and underscores."""
    return re.sub(r"[^0-9A-Za-z_]+", "_", folder.resolve().name).strip("_") or "selfinstruct"


def check_target(out: Path) -> None:
    """Refuse a folder that is neither new, empty nor an earlier hf export (it would be replaced)."""
    if not out.exists():
        return
    entries = {p.name for p in out.iterdir()}
    if not entries:
        return
    readme = out / "README.md"
    ours = readme.is_file() and MARKER in readme.read_text(encoding="utf-8", errors="replace")
    if not ours or not entries <= OUR_FILES:
        raise InputError("exists and is not an earlier hf export; give a new or empty folder", path=out)


def _write_parquet(rows: list[dict[str, Any]], path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    turn = pa.struct([("role", pa.string()), ("content", pa.string())])
    schema = pa.schema([("task_id", pa.string()), ("instruction", pa.string()), ("input", pa.string()),
                        ("output", pa.string()), ("messages", pa.list_(turn))])  # fmt: skip
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), path)


def llama_factory_info(name: str, splits: list[SplitInfo]) -> dict[str, Any]:
    """dataset_info.json: one entry per split, in LLaMA-Factory's sharegpt formatting with OpenAI role tags."""
    tags = {"role_tag": "role", "content_tag": "content", "user_tag": "user", "assistant_tag": "assistant",
            "system_tag": "system"}  # fmt: skip
    return {
        (name if s.name == "train" else f"{name}_{s.name}"): {
            "file_name": s.path,
            "formatting": "sharegpt",
            "columns": {"messages": "messages"},
            "tags": tags,
        }
        for s in splits
    }


def axolotl_snippet(folder: str, splits: list[SplitInfo]) -> str:
    """axolotl's chat_template loader on the `messages` column, train and (when there is one) validation."""

    def entry(split: str) -> str:
        return (f"  - path: {json.dumps(folder)}\n    split: {split}\n    type: chat_template\n"
                "    field_messages: messages\n    message_property_mappings:\n      role: role\n"
                "      content: content\n")  # fmt: skip

    text = ("# axolotl: paste into your config. `path` is this folder: its path from where axolotl runs, or its Hub "
            "repo id once uploaded.\n")  # fmt: skip
    text += "datasets:\n" + entry("train")
    if any(s.name == "validation" for s in splits):
        text += "test_datasets:\n" + entry("validation")
    return text


def write_dataset_folder(
    settings: ExportSettings, rows: dict[str, list[dict[str, Any]]], run: dict[str, Any], language: str,
    result: ExportResult, notice: Callable[[str], object] = lambda _: None,
) -> None:  # fmt: skip
    """Write the folder for `rows` (split -> records in the hf layout) with its card and trainer configs."""
    out = settings.out
    check_target(out)  # again: the folder may have changed while the data was read
    notice(f"computing the statistics of {settings.source} for the dataset card (ROUGE-L over all tasks)")
    provenance = gather(settings.source, run)
    name = dataset_name(out)
    tasks = {o.split: o.tasks for o in result.outputs}
    splits = [SplitInfo(split, len(r), tasks.get(split, 0), DATA_FILE.format(split=split)) for split, r in rows.items()]
    card = CardInput(
        pretty_name=name,
        language=language,
        splits=splits,
        seeds_included=result.seeds,
        skipped=result.skipped,
        instances_per_task=settings.instances_per_task,
        system=settings.system,
        shuffle=settings.shuffle,
        seed=settings.seed,
        validation_split=settings.validation_split,
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent))
    old: Path | None = None
    try:
        os.chmod(tmp, 0o777 & ~umask())  # mkdtemp makes it 0700: the trainer's user must be able to read it
        for split in splits:
            _write_parquet(rows[split.name], tmp / split.path)
        with atomic_writer(tmp / "README.md") as fh:
            fh.write(render_card(provenance, card, out.resolve().name))
        with atomic_writer(tmp / "dataset_info.json") as fh:
            json.dump(llama_factory_info(name, splits), fh, indent=2, ensure_ascii=False)
            fh.write("\n")
        with atomic_writer(tmp / "axolotl.yaml") as fh:
            fh.write(axolotl_snippet(out.resolve().name, splits))
        with atomic_writer(tmp / FOLDER_NAME) as fh:
            fh.write(chat_template())
        if out.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".old", dir=out.parent))
            os.replace(out, old / out.name)
        os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        if old is not None and not out.exists() and (old / out.name).exists():
            os.replace(old / out.name, out)  # put the earlier export back
        raise
    finally:
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
