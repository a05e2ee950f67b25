"""Benchmark: `selfinstruct stats` on a synthetic pool.

1. Without the parser on N tasks (default 50k): wall seconds of the whole compute_stats call in a child process,
   its read and similarity (exact max ROUGE-L to every earlier instruction) parts, and the child's peak RSS.
2. With the spaCy parser on M tasks (default 2k): tasks per second of the verb–noun step (model load apart).

    python benchmarks/bench_stats.py
    python benchmarks/bench_stats.py --n 20000 --parse-n 500
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.instruction_gen import generate_instructions  # noqa: E402
from selfinstruct.stats_verbs import load_parser, verb_stats  # noqa: E402

CHILD = """
import json, sys, time
from pathlib import Path
from selfinstruct.stats import compute_stats
start = time.perf_counter()
stats = compute_stats(Path(sys.argv[1]), parse_verbs=False)
print(json.dumps({"wall": time.perf_counter() - start, "seconds": stats.seconds, "tasks": stats.tasks,
                  "exact": stats.similarity_exact, "similarity": stats.similarity_counts}))
"""


def write_pool(path: Path, instructions: list[str]) -> None:
    with path.open("w", encoding="utf-8") as fh:
        for k, text in enumerate(instructions):
            instance = {"input": "" if k % 3 else f"Example input {k}.", "output": f"A short answer number {k}."}
            row = {"id": f"machine_task_{k}", "instruction": text, "instances": [instance], "is_classification": False}
            fh.write(json.dumps(row) + "\n")


def bench_without_parser(n: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "pool.jsonl"
        write_pool(path, generate_instructions(n, dup_share=0.0, seed=0))
        proc = subprocess.Popen([sys.executable, "-c", CHILD, str(path)], stdout=subprocess.PIPE, cwd=ROOT)
        assert proc.stdout is not None
        out = proc.stdout.read()
        _, status, rusage = os.wait4(proc.pid, 0)
        if status != 0:
            raise SystemExit(f"stats failed with status {status}")
    report = json.loads(out)
    parts = ", ".join(f"{k} {v:.2f} s" for k, v in report["seconds"].items() if k != "verbs")
    print(f"stats without parser, {report['tasks']:,} tasks: {report['wall']:.2f} s ({parts}), "
          f"peak RSS {rusage.ru_maxrss // 1024} MiB, exact similarity: {report['exact']}")  # fmt: skip
    print(f"  similarity histogram (0.1 bins): {report['similarity']}")


def bench_parser(n: int) -> None:
    start = time.perf_counter()
    nlp = load_parser()
    if nlp is None:
        print('parser: spaCy or its model is not installed (pip install "selfinstruct[stats]"); skipped')
        return
    loaded = time.perf_counter() - start
    texts = generate_instructions(n, dup_share=0.0, seed=1)
    start = time.perf_counter()
    verbs = verb_stats(texts, nlp)
    seconds = time.perf_counter() - start
    print(f"stats parser, {n:,} tasks: {n / seconds:,.0f} tasks/s ({seconds:.2f} s; model load {loaded:.2f} s)")
    print(f"  {verbs.distinct_verbs} verbs, {verbs.distinct_pairs} verb-noun pairs, {verbs.pair_share:.0%} with a pair")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=50_000, help="tasks for the run without the parser")
    parser.add_argument("--parse-n", type=int, default=2_000, help="tasks for the parser run (0: skip)")
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} cores, python {sys.version.split()[0]}, load {os.getloadavg()[0]:.1f}")
    bench_without_parser(args.n)
    if args.parse_n:
        bench_parser(args.parse_n)


if __name__ == "__main__":
    main()
