"""Benchmark: `selfinstruct decontaminate` at 100k and 1M, on real text, with planted copies of benchmark items.

Inputs come from ShareGPT's sentences (`benchmarks/instruction_gen.py`, source "sentences": 1.19M distinct
lines, `pip install -e ".[bench]"`), drawn in a seeded order and split without overlap: the first lines become
benchmark items until the index holds N n-grams, the next N lines the dataset's records. Then `--plant` items
are planted into the dataset at random places, each as one of: a verbatim copy, a copy in other case and
punctuation with words around it, a copy with one word replaced (items of 16 words or more), or, for items
under n words, the item with "Q: " in front. Each size runs the CLI in a child process: wall seconds, the
scan's seconds, peak RSS (wait4), then recall on the planted records and precision (a flagged record that was
not planted is counted as a false positive even when it is a real near-copy in ShareGPT). Memory per indexed
n-gram: the index arrays' bytes, and the peak RSS of a run against a 1-record dataset minus that of a run with a
one-item benchmark, over the n-grams.

    python benchmarks/bench_decontaminate.py                       # 100k and 1M
    python benchmarks/bench_decontaminate.py --sizes 100000 --plant 2000
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.instruction_gen import ROOT, real_lines
from selfinstruct.filters.contamination import DEFAULT_N, BenchmarkIndex, BenchmarkItem
from selfinstruct.filters.contamination.tokens import tokens


def run_cli(data: Path, bench: Path, out: Path) -> tuple[float, dict[str, object], int, float]:
    """(wall seconds, the --json report, peak RSS in MiB, CPU seconds) of one CLI run in a child process."""
    cmd = [sys.executable, "-m", "selfinstruct", "decontaminate", str(data), "--against", str(bench),
           "--out", str(out), "--json", "-q"]  # fmt: skip
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, cwd=ROOT)
    assert proc.stdout is not None
    stdout = proc.stdout.read()
    _, status, rusage = os.wait4(proc.pid, 0)
    if status != 0:
        raise SystemExit(f"decontaminate failed with status {status}")
    cpu = rusage.ru_utime + rusage.ru_stime
    return time.perf_counter() - start, json.loads(stdout), rusage.ru_maxrss // 1024, cpu


def plant(item: str, rng: random.Random) -> str:
    words = item.split()
    short = len(tokens(item)) < DEFAULT_N
    kind = rng.choice(["verbatim", "reworded", "replaced"])
    if short:
        return "Q: " + item
    if kind == "verbatim":
        return item
    if kind == "replaced" and len(words) >= 16:
        words[len(words) * 3 // 4] = "banana"
        return " ".join(words)
    return "Here is my question. " + " ".join(words).upper().replace(",", " -") + " Thanks!"


def write_jsonl(path: Path, rows: list[dict[str, str]]) -> None:
    with path.open("w", encoding="utf-8") as fh:
        fh.writelines(json.dumps(r) + "\n" for r in rows)


def make_inputs(n: int, plant_count: int, seed: int, folder: Path) -> None:
    """bench.jsonl (items up to n n-grams), data.jsonl (n records, some planted) and planted.json, written by a
    child process so that the parent stays small: a forked child starts with its parent's high-water mark."""
    lines = list(real_lines("sentences"))
    random.Random(seed).shuffle(lines)
    rng = random.Random(seed + n)
    items: list[str] = []
    grams = 0
    k = 0
    while grams < n:  # the item's n-grams, or 1 for an item matched whole
        items.append(lines[k])
        grams += max(1, len(tokens(lines[k])) - DEFAULT_N + 1)
        k += 1
    records = [{"instruction": line} for line in lines[k : k + n]]
    if len(records) < n:
        raise SystemExit(f"not enough lines for {n:,} records after {len(items):,} items")
    planted: dict[int, int] = {}
    for item_index in rng.sample(range(len(items)), plant_count):
        at = rng.randrange(len(records))
        while at in planted:
            at = rng.randrange(len(records))
        planted[at] = item_index
        records[at] = {"instruction": plant(items[item_index], rng)}
    write_jsonl(folder / "bench.jsonl", [{"id": str(i), "question": t} for i, t in enumerate(items)])
    write_jsonl(folder / "data.jsonl", records)
    write_jsonl(folder / "data_unplanted.jsonl", [{"instruction": line} for line in lines[k : k + n]])
    write_jsonl(folder / "tiny_bench.jsonl", [{"question": items[0]}])
    write_jsonl(folder / "tiny_data.jsonl", [{"instruction": "hello there, general kenobi"}])
    index = BenchmarkIndex([BenchmarkItem("b", str(i), t) for i, t in enumerate(items)])
    meta = {"planted": planted, "items": len(items), "bytes_per_ngram": index.nbytes / index.ngrams}
    (folder / "planted.json").write_text(json.dumps(meta))


def flagged_lines(out: Path) -> dict[int, dict[str, object]]:
    flagged = {}
    with (out / "contaminated.jsonl").open(encoding="utf-8") as fh:
        for line in fh:
            rec = json.loads(line)
            flagged[int(rec["line"]) - 1] = rec
    return flagged


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--plant", type=int, default=1000, help="benchmark items planted in the dataset")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--make", type=Path, help=argparse.SUPPRESS)  # the child that writes the inputs
    args = parser.parse_args()
    if args.make is not None:
        make_inputs(args.sizes[0], args.plant, args.seed, args.make)
        return
    print(f"machine: {os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}, python {sys.version.split()[0]}")
    print(f"{'N':>9} {'items':>8} {'n-grams':>9} {'wall s':>7} {'cpu s':>6} {'scan s':>7} {'peak MiB':>8} "
          f"{'B/ngram':>7} {'removed':>8} {'recall':>7} {'precision':>9} {'before':>7}")  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.sizes:
            folder = Path(tmp) / str(n)
            folder.mkdir()
            subprocess.run([sys.executable, __file__, "--make", str(folder), "--sizes", str(n), "--plant",
                            str(args.plant), "--seed", str(args.seed)], check=True, cwd=ROOT)  # fmt: skip
            meta = json.loads((folder / "planted.json").read_text())
            planted = {int(k): v for k, v in meta["planted"].items()}
            # First, while this process is small (a forked child starts with its parent's high-water mark).
            _, _, base, _ = run_cli(folder / "tiny_data.jsonl", folder / "tiny_bench.jsonl", folder / "tiny_a")
            _, small, full, _ = run_cli(folder / "tiny_data.jsonl", folder / "bench.jsonl", folder / "tiny_b")
            ngrams = int(str(small["ngrams"]))
            per = (full - base) * 2**20 / ngrams
            index_line = (
                f"    index only: peak {full} MiB vs {base} MiB for a one-item benchmark: {per:.0f} B per indexed "
                f"n-gram (index arrays: {meta['bytes_per_ngram']:.0f} B)"
            )
            wall, report, rss, cpu = run_cli(folder / "data.jsonl", folder / "bench.jsonl", folder / "out")
            flagged = flagged_lines(folder / "out")
            hits = sum(1 for at in planted if at in flagged)
            # Precision: flags outside the planted records count against it, except the records that were
            # flagged before planting (real copies of an item's text elsewhere in ShareGPT), shown below.
            run_cli(folder / "data_unplanted.jsonl", folder / "bench.jsonl", folder / "before")
            before = flagged_lines(folder / "before")
            wrong = [at for at in flagged if at not in planted and at not in before]
            precision = hits / (hits + len(wrong)) if hits + len(wrong) else 1.0
            print(f"{n:>9,} {meta['items']:>8,} {report['ngrams']:>9,} {wall:>7.1f} {cpu:>6.1f} "
                  f"{report['seconds']:>7.1f} {rss:>8} {meta['bytes_per_ngram']:>7.1f} {len(flagged):>8,} "
                  f"{hits / len(planted):>7.1%} {precision:>9.1%} {len(before):>7,}", flush=True)  # fmt: skip
            missed = {at for at in planted if at not in flagged}
            with (folder / "data.jsonl").open(encoding="utf-8") as fh:  # streamed: the parent stays small
                for at, line in enumerate(fh):
                    if at in missed:
                        print(f"    missed: {json.loads(line)['instruction'][:100]}")
            for rec in list(before.values())[:: max(1, len(before) // 6)][:6]:
                print(f"    already in ShareGPT ({rec['rule']}, {rec['score']}): {rec['record']['instruction'][:60]!r} "
                      f"~ item {str(rec['item_text'])[:60]!r}")  # fmt: skip
            print(index_line)


if __name__ == "__main__":
    main()
