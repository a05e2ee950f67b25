"""Benchmark: reading and filtering a 52k-record Alpaca-style JSON array (the size of Alpaca's alpaca_data.json).

Builds N records laid out as alpaca_data.json is (a JSON array, 4-space indent): instructions from
benchmarks/instruction_gen.py (real ShareGPT instructions from the bench extra, which holds 45,372 usable ones,
and 15% planted near-duplicates), and inputs and outputs taken from the project's hand-written seed tasks
(about 40% of records with an input, as in Alpaca). The same records are also written
as JSONL. Prints, per layout: file size, seconds to read it (`records.read_records`, in-process), and the
whole `selfinstruct filter FILE --out OUT` (all filters) in a child process: wall seconds, the seconds the CLI
reports for the filter loop, peak RSS and how many records were kept.

    python benchmarks/bench_read.py              # 52,002 records
    python benchmarks/bench_read.py --n 8970     # the size of the issue's measurement
    python benchmarks/bench_read.py --hf         # also `selfinstruct export FILE --format hf` (needs .[hf])
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

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.instruction_gen import generate_instructions  # noqa: E402
from selfinstruct.io.records import read_records  # noqa: E402

SEED_FILES = (ROOT / "seeds" / "seed_tasks.jsonl",)


def alpaca_records(n: int, seed: int) -> list[dict[str, str]]:
    """n Alpaca records: generated instructions, inputs and outputs written by people for the seed tasks."""
    instances = [
        inst
        for path in SEED_FILES
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip()
        for inst in json.loads(line)["instances"]
    ]
    inputs = [i["input"] for i in instances if i["input"].strip()]
    outputs = [i["output"] for i in instances if i["output"].strip()]
    rng = random.Random(seed)
    records = []
    for instruction in generate_instructions(n, dup_share=0.15, seed=seed):
        inp = rng.choice(inputs) if rng.random() < 0.4 else ""
        output = "\n".join(rng.sample(outputs, rng.choice((1, 1, 2, 3))))
        records.append({"instruction": instruction, "input": inp, "output": output})
    return records


def time_read(path: Path, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        read_records(path)
        best = min(best, time.perf_counter() - start)
    return best


def run_cli(*args: str) -> tuple[float, int, bytes]:
    """(wall seconds, peak RSS in MiB, stdout) of one `selfinstruct` child process."""
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "selfinstruct", *args], stdout=subprocess.PIPE, cwd=ROOT)
    assert proc.stdout is not None
    stdout = proc.stdout.read()
    _, status, rusage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    if status != 0:
        raise SystemExit(f"selfinstruct {args[0]} failed with status {status}")
    return wall, rusage.ru_maxrss // 1024, stdout


def run_filter(path: Path, out: Path) -> tuple[float, float, int, int]:
    """(wall seconds, filter-loop seconds, peak RSS in MiB, kept) of one `selfinstruct filter` child process."""
    wall, rss, stdout = run_cli("filter", str(path), "--out", str(out), "--json", "-q")
    report = json.loads(stdout)
    return wall, float(report["seconds"]), rss, int(report["kept"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=52_002)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=3, help="reads per layout (the fastest is printed)")
    parser.add_argument("--hf", action="store_true", help="also time `export --format hf` of the JSON array")
    args = parser.parse_args()

    records = alpaca_records(args.n, args.seed)
    print(f"machine: {os.cpu_count()} cores, python {sys.version.split()[0]}; {len(records):,} records")
    print(f"{'layout':<11} {'MiB':>6} {'read s':>7} {'filter wall s':>13} {'loop s':>7} {'peak MiB':>9} {'kept':>7}")
    with tempfile.TemporaryDirectory() as tmp:
        array = Path(tmp) / "alpaca_data.json"
        array.write_text(json.dumps(records, indent=4, ensure_ascii=False) + "\n", encoding="utf-8")
        lines = Path(tmp) / "alpaca_data.jsonl"
        lines.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
        for name, path in (("json array", array), ("jsonl", lines)):
            read_s = time_read(path, args.repeat)
            wall, loop, rss, kept = run_filter(path, Path(tmp) / f"clean{path.suffix}")
            size = path.stat().st_size / 2**20
            print(f"{name:<11} {size:>6.1f} {read_s:>7.2f} {wall:>13.2f} {loop:>7.2f} {rss:>9} {kept:>7,}", flush=True)
        if args.hf:
            wall, rss, _ = run_cli("export", str(array), "--format", "hf", "--out", str(Path(tmp) / "hf"))
            print(f"\nexport --format hf of the JSON array: {wall:.2f} s wall, peak {rss} MiB")


if __name__ == "__main__":
    main()
