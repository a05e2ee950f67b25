"""Benchmark: the commit path's cost per accepted task as the pool grows.

Committing an accepted candidate does, synchronously in the event loop: the final near-duplicate check
(`best_match`), the top-10 `most_similar_instructions` stored with the task, and indexing it (`add`). This
builds an index of N realistic instructions (benchmarks/instruction_gen.py), then times those three calls for
--queries new instructions, and checks every top-10 against a full scan of every instruction that shares a
token (the old method, exact by construction): same documents, same scores, same order. Times are CPU time
of this process (time.process_time), so that other load on a shared machine does not inflate them. The
index's full postings are built before timing, as a run's first commit builds them and `add` keeps them up.
`add` includes the index's re-ranking of tokens each time it grows 4x (0.2 s at 20k, once): when one falls
in the timed window, as at 20k, it shows in the mean of `add` but not in p99.

    python benchmarks/bench_commit.py                        # pools of 5.5k, 20k, 50k
    python benchmarks/bench_commit.py --sizes 50000 --queries 500
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.instruction_gen import generate_instructions  # noqa: E402
from selfinstruct.filters import Match, NearDuplicateIndex  # noqa: E402


def full_scan(index: NearDuplicateIndex, instruction: str, k: int) -> list[Match]:
    """Score every indexed instruction that shares a token and sort: the reference top-k."""
    code = index._encode(instruction)
    postings = index._full_postings()
    docs = sorted(set().union(*(postings.get(ch, ()) for ch in set(code))))
    scores = index._scores(code, docs)
    order = sorted(range(len(docs)), key=lambda i: (-scores[i], docs[i]))[:k]
    return [Match(docs[i], index.instructions[docs[i]], float(scores[i])) for i in order]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[5500, 20000, 50000])
    parser.add_argument("--queries", type=int, default=300)
    args = parser.parse_args()
    # 20% planted near-duplicates: the real instructions of the bench extra (45,372) must cover the rest.
    texts = generate_instructions(max(args.sizes) + args.queries * len(args.sizes), dup_share=0.2, seed=3)
    print(f"{'pool':>7} {'best_match ms':>14} {'most_similar ms':>16} {'add ms':>7} {'commit ms':>10} "
          f"{'p99 ms':>7} {'full scan ms':>13} {'top-10 exact':>13}")  # fmt: skip
    for size in args.sizes:
        index = NearDuplicateIndex()
        index.add_unique(texts[:size])
        while len(index) < size:  # add_unique drops near-duplicates: top up to the pool size
            index.add(texts[len(index) + args.queries])
        index.most_similar(texts[0])  # builds the full postings once, as a run's first commit does; kept up after
        queries = texts[-args.queries * (args.sizes.index(size) + 1) :][: args.queries]
        best, similar, add, total, scan = [], [], [], [], []
        exact = True
        for text in queries:
            t0 = time.process_time()
            index.best_match(text)
            t1 = time.process_time()
            top = index.most_similar(text, 10)
            t2 = time.process_time()
            reference = full_scan(index, text, 10)
            t3 = time.process_time()
            index.add(text)
            t4 = time.process_time()
            exact &= [(m.index, m.score) for m in top] == [(m.index, m.score) for m in reference]
            best.append(t1 - t0)
            similar.append(t2 - t1)
            add.append(t4 - t3)
            total.append(t2 - t0 + t4 - t3)
            scan.append(t3 - t2)
        ms = [statistics.mean(x) * 1000 for x in (best, similar, add, total)]
        p99 = float(np.percentile(total, 99)) * 1000
        print(f"{size:>7} {ms[0]:>14.3f} {ms[1]:>16.3f} {ms[2]:>7.3f} {ms[3]:>10.3f} {p99:>7.2f} "
              f"{statistics.mean(scan) * 1000:>13.2f} {'yes' if exact else 'NO':>13}", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
