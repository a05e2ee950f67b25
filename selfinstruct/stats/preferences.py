"""What `stats` shows of a `respond` run and its `prefer` judging: responses per model (answered, and dropped by
reason) and what each model's answers cost (respond.json's spend, each at its prices), the judge's score
distributions per model (and per aspect, when several were rated), the pairs and why instructions gave none, the
agreement between the two orders of pairwise verdicts, and the length of chosen against rejected answers (length
is the best-known judge bias: the share of pairs whose chosen answer is the longer one)."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

from selfinstruct.errors import InputError
from selfinstruct.pipeline.prefer.settings import PREFERENCES, SUMMARY
from selfinstruct.pipeline.respond.output import read_state
from selfinstruct.stats.lengths import distribution
from selfinstruct.text import word_count


def _json(path: Path) -> dict[str, Any] | None:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"cannot read it ({exc})", path=path) from None
    return value if isinstance(value, dict) else None


def _pairs(path: Path) -> list[dict[str, Any]]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    return [json.loads(line) for line in text.splitlines() if line.strip()]


KEPT = ("mode", "rubric", "scale", "pairs_rule", "margin", "judge_model", "verdicts", "pairs", "dropped", "scores",
        "position", "length", "ranking", "aspects")  # fmt: skip


def preference_stats(path: Path) -> dict[str, Any] | None:
    """The respond and prefer figures of a run directory, or None when it is not a respond run."""
    if not path.is_dir():
        return None
    state = read_state(path)
    if state is None:
        return None
    out: dict[str, Any] = {"models": state.get("models", []), "responses": state.get("counts", {})}
    if isinstance(state.get("spend"), dict):  # (run directories answered before it was recorded have none)
        out["spend"] = state["spend"]
    judged = _json(path / SUMMARY)
    if judged is not None:
        pairs = _pairs(path / PREFERENCES)
        lengths = {side: [word_count(p[side]["output"]) for p in pairs] for side in ("chosen", "rejected")}
        out["prefer"] = {k: judged.get(k) for k in KEPT}
        out["prefer"]["lengths"] = {side: asdict(distribution(v)) for side, v in lengths.items()}
    return out
