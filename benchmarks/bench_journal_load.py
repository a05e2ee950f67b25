"""Benchmark: what reading a response journal costs (every run opens its run directory's journal to rebuild its
spend), and what naming the model on every line adds to it and to the file.

Writes a journal of N requests as `respond` leaves it (a `sent` line, then the reply's line, two models taking
turns), with and without the `model` field lines carry since issue 24, then opens each with ResponseJournal
several times and prints the best CPU seconds (time.process_time) per load, microseconds per line and bytes per
line. Run it against two checkouts (PYTHONPATH) to compare the code; a journal without the field is what an older
version wrote.

    python benchmarks/bench_journal_load.py                 # 100,000 requests, best of 5
    python benchmarks/bench_journal_load.py -n 20000 --repeat 9
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from selfinstruct.engine.journal import ResponseJournal  # noqa: E402

MODELS = ("gpt-4o", "gpt-4o-mini")


def write(path: Path, n: int, *, named: bool) -> None:
    with path.open("w", encoding="utf-8") as fh:
        for i in range(n):
            model = MODELS[i % 2]
            tag = {"model": model} if named else {}
            fh.write(json.dumps({"sent": f"abcd1234-{i}", "step": "respond", **tag, "prompt_tokens": 120,
                                 "completion_tokens": 1024}) + "\n")  # fmt: skip
            reply = {"key": f"{i:064x}", "step": "respond", "seed": i, **tag, "text": "An answer. " * 40,
                     "finish_reason": "stop", "prompt_tokens": 61, "completion_tokens": 180,
                     "charge": f"abcd1234-{i}"}  # fmt: skip
            fh.write(json.dumps(reply) + "\n")


def best_load(path: Path, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.process_time()
        journal = ResponseJournal(path)
        best = min(best, time.process_time() - start)
        assert len(journal) > 0
        journal.close()
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", type=int, default=100_000, help="requests (two lines each)")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for named in (False, True):
            path = Path(tmp) / f"responses-{named}.jsonl"
            write(path, args.n, named=named)
            seconds = best_load(path, args.repeat)
            lines = 2 * args.n
            print(f"{'model named' if named else 'no model   '}: {lines:,} lines, {path.stat().st_size / lines:.1f} "
                  f"bytes/line, load {seconds:.3f} CPU s ({seconds / lines * 1e6:.2f} us/line)")  # fmt: skip


if __name__ == "__main__":
    main()
