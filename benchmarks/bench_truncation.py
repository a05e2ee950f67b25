"""Benchmark: replies cut at max_tokens against the pool's completeness.

The fake OpenAI server (tests/servers/fake_openai.py, the scripted model of tests/servers/scripted_model.py)
cuts a share of all replies mid-text and reports finish_reason "length", at four depths. Every string the scripted model
writes has a known complete form, so this counts the pool's tasks that hold a cut-off instruction or
instance, with the replies cut (of all requests) and the tasks rejected as `instances:truncated`.

    python benchmarks/bench_truncation.py                  # 12% and 48% of replies cut, -n 90
    python benchmarks/bench_truncation.py --percent 25 -n 200
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from click.testing import CliRunner  # noqa: E402

from selfinstruct.cli.app import cli  # noqa: E402
from tests.methods.test_postprocessing import GENERATIVE_OUTPUT, INSTRUCTION, LABELLED_INPUT, _cut_replies  # noqa: E402
from tests.servers.fake_openai import FakeOpenAIServer  # noqa: E402
from tests.servers.scripted_model import respond  # noqa: E402


def cut_off(task: dict[str, Any]) -> bool:
    """Whether a pool task holds a string the scripted model never writes whole like that."""
    if not INSTRUCTION.match(task["instruction"]):
        return True
    for instance in task["instances"]:
        if task["is_classification"]:
            if not (
                LABELLED_INPUT.match(instance["input"]) and instance["input"].endswith(f"is {instance['output']}.")
            ):
                return True
        elif not (instance["input"] == "" and GENERATIVE_OUTPUT.match(instance["output"])):
            return True
    return False


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--percent", type=int, action="append", help="share of replies to cut (repeatable)")
    parser.add_argument("-n", type=int, default=90)
    args = parser.parse_args()
    print(f"{'cut':>5} {'replies cut':>12} {'tasks':>6} {'with a cut-off string':>22} {'truncated':>10}")
    for percent in args.percent or [12, 48]:
        with tempfile.TemporaryDirectory() as tmp, FakeOpenAIServer(respond, api_key="k") as server:
            _cut_replies(server, percent)
            out = Path(tmp) / "run"
            argv = ["generate", "--out", str(out), "--base-url", server.url, "--model", "fake-model", "--seed", "1",
                    "-n", str(args.n), "-q", "--seeds", str(ROOT / "seeds" / "seed_tasks.jsonl")]  # fmt: skip
            result = CliRunner().invoke(cli, argv, env={"OPENAI_API_KEY": "k"})
            if result.exit_code != 0:
                raise SystemExit(result.stderr)
            pool = [json.loads(line) for line in (out / "tasks.jsonl").read_text().splitlines()]
            rejected = [json.loads(line) for line in (out / "rejected.jsonl").read_text().splitlines()]
            stats = server.stats
        truncated = sum(1 for r in rejected if r["reason"] == "truncated")
        print(f"{percent:>4}% {stats.by_outcome.get('fault_cut', 0):>5} of {stats.total:<5} "
              f"{len(pool):>6} {sum(map(cut_off, pool)):>22} {truncated:>10}")  # fmt: skip


if __name__ == "__main__":
    main()
