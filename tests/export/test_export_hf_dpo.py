"""`export --format hf-dpo`: prefer's pairs as a Hugging Face dataset folder that the real `datasets` library loads,
in TRL's conversational preference format, with a card recording the models, the judge, the rules and the
judge's biases."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from selfinstruct.cli.app import cli


def test_hf_dpo_folder_loads_in_datasets_and_its_card_says_how_the_pairs_were_made(
    answers: Path, prefer_cli: Any, tmp_path: Path
) -> None:
    import datasets

    assert prefer_cli(answers, "--mode", "pairwise", "--pairs", "best-each")[0] == 0
    out = tmp_path / "prefs_hf"
    result = CliRunner().invoke(cli, ["export", str(answers), "--format", "hf-dpo", "--out", str(out), "--seed", "1"])
    assert result.exit_code == 0, result.output
    loaded = datasets.load_dataset(str(out))
    pairs = [json.loads(line) for line in (answers / "preferences.jsonl").read_text().splitlines()]
    assert loaded["train"].num_rows + loaded["validation"].num_rows == len(pairs) > 0
    assert loaded["train"].column_names == ["prompt", "chosen", "rejected"]
    for row in [*loaded["train"], *loaded["validation"]]:  # TRL's conversational preference rows
        assert [m["role"] for m in row["prompt"]][-1] == "user" and len(row["chosen"]) == len(row["rejected"]) == 1
        assert row["chosen"][0]["role"] == row["rejected"][0]["role"] == "assistant"
    summary = json.loads((answers / "prefer.json").read_text())
    card = (out / "README.md").read_text(encoding="utf-8")
    assert "- dpo" in card and "`strong`, `weak`" in card and "`judge`" in card and "| mode | pairwise |" in card
    position = summary["position"]
    assert f"| {position['consistent']} / {position['tie']} / {position['order_dependent']} |" in card
    length = summary["length"]
    assert f"| {length['longer_chosen']} of {length['of']} |" in card
    for reason, count in summary["dropped"].items():
        assert f"| {reason} | {count} |" in card
    spend = json.loads((answers / "respond.json").read_text())["spend"]["models"]  # each model's tokens (no prices)
    tokens = {m: s["prompt_tokens"] + s["completion_tokens"] for m, s in spend.items()}
    assert (
        f"| cost of the answers per model | `strong` {tokens['strong']:,} tokens; `weak` {tokens['weak']:,} tokens |"
        in card
    )
    # Re-exporting replaces the folder (it is ours); a folder that is not ours is refused.
    again = CliRunner().invoke(cli, ["export", str(answers), "--format", "hf-dpo", "--out", str(out)])
    assert again.exit_code == 0, again.output
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    refused = CliRunner().invoke(cli, ["export", str(answers), "--format", "hf-dpo", "--out", str(foreign)])
    assert refused.exit_code == 2 and (foreign / "notes.txt").read_text() == "mine"
