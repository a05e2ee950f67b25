"""Behaviour pinned across refactors: the same seed on the same deterministic endpoint gives the same bytes.

Each case runs the commands as a user does (`python -m selfinstruct ...`, no import of our modules, so the
test survives any move of them) against the scripted fake endpoint, and compares the SHA-256 of every file a
user keeps (pool, rejections, filter output, exports) with tests/golden/digests.json. A change of behaviour
is then never silent: when it is meant, regenerate the digests with `SELFINSTRUCT_UPDATE_GOLDEN=1 python -m
pytest tests/test_golden.py` and say why in the commit.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.servers import StartServer

KEY = "sk-test-golden"
DIGESTS = Path(__file__).resolve().parent / "golden" / "digests.json"
UPDATE = os.environ.get("SELFINSTRUCT_UPDATE_GOLDEN") == "1"

# name -> (language of the seed set, extra generate options)
CASES: dict[str, tuple[str, list[str]]] = {
    "self-instruct-chat": ("en", []),
    "self-instruct-completions": ("en", ["--api", "completions"]),
    "alpaca-chat": ("en", ["--mode", "alpaca"]),
    "chinese-chat": ("zh", ["--language", "zh"]),
}
EXPORTS = ("alpaca", "sharegpt", "openai-chat", "prompt-completion")


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "SELFINSTRUCT_"))}
    return {**env, "OPENAI_API_KEY": KEY}


def _run(*args: str) -> None:
    done = subprocess.run([sys.executable, "-m", "selfinstruct", *args], env=_env(), capture_output=True,
                          text=True, timeout=240)  # fmt: skip
    assert done.returncode == 0, f"selfinstruct {' '.join(args)}\n{done.stderr}"


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _outputs(tmp: Path, url: str, seeds: Path, extra: list[str]) -> dict[str, str]:
    run = tmp / "run"
    _run("generate", "--seeds", str(seeds), "--out", str(run), "--base-url", url, "--model", "fake-model",
         "--seed", "7", "-n", "24", "--concurrency", "4", "-q", *extra)  # fmt: skip
    files = {"tasks.jsonl": run / "tasks.jsonl", "rejected.jsonl": run / "rejected.jsonl"}
    kept, dropped = tmp / "filtered.jsonl", tmp / "filter_rejected.jsonl"
    _run("filter", str(run / "tasks.jsonl"), "--out", str(kept), "--rejected", str(dropped), "-q")
    files |= {"filter.jsonl": kept, "filter_rejected.jsonl": dropped}
    for fmt in EXPORTS:
        out = tmp / f"export_{fmt}.jsonl"
        _run("export", str(run), "--format", fmt, "--out", str(out), "--seed", "3")
        files[out.name] = out
    split = tmp / "export_split.json"
    _run("export", str(run), "--format", "alpaca", "--out", str(split), "--validation-split", "0.25", "--shuffle",
         "--include-seeds")  # fmt: skip
    files |= {split.name: split, "export_split.validation.json": tmp / "export_split.validation.json"}
    return {name: _sha(path) for name, path in sorted(files.items())}


@pytest.mark.parametrize("case", sorted(CASES))
def test_outputs_are_byte_identical_to_the_recorded_ones(
    tmp_path: Path, case: str, scripted_server: StartServer, seed_files: dict[str, Path]
) -> None:
    language, extra = CASES[case]
    with scripted_server(api_key=KEY) as server:
        got = _outputs(tmp_path, server.url, seed_files[language], extra)
    recorded = json.loads(DIGESTS.read_text(encoding="utf-8")) if DIGESTS.exists() else {}
    if UPDATE:
        recorded[case] = got
        DIGESTS.parent.mkdir(exist_ok=True)
        DIGESTS.write_text(json.dumps(recorded, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        return
    assert case in recorded, f"no digests recorded for {case}; run with SELFINSTRUCT_UPDATE_GOLDEN=1"
    changed = sorted(name for name in got.keys() | recorded[case].keys() if got.get(name) != recorded[case].get(name))
    assert not changed, f"{case}: these outputs changed: {', '.join(changed)}"
