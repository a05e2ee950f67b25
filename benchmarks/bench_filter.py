"""Benchmark: `selfinstruct filter --filters rouge` on 1k..50k realistic instructions, against brute force.

Prints, per N: wall seconds of the whole CLI process, seconds inside the filter loop, peak RSS, and how many
were kept. For N = 1k (or --brute N) it also runs the brute-force loops of the original scripts in-process
(Self-Instruct: rouge-score `scorer.score` against every kept instruction; Alpaca: `_score_lcs` on
pre-tokenized instructions), checks the decisions are identical, and prints the speed ratio.

    python benchmarks/bench_filter.py                 # 1k, 5k, 20k, 50k
    python benchmarks/bench_filter.py --sizes 1000 --brute 1000
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.instruction_gen import generate_instructions  # noqa: E402
from selfinstruct.filters import FilterChain  # noqa: E402


def run_cli(path: Path, out: Path) -> tuple[float, float, int, int]:
    """(wall seconds, filter seconds, peak RSS in MiB, kept) of one CLI run in a child process."""
    cmd = [sys.executable, "-m", "selfinstruct", "filter", str(path), "--out", str(out), "--filters", "rouge"]
    start = time.perf_counter()
    proc = subprocess.Popen([*cmd, "--json", "-q"], stdout=subprocess.PIPE, cwd=ROOT)
    assert proc.stdout is not None
    stdout = proc.stdout.read()
    _, status, rusage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    if status != 0:
        raise SystemExit(f"filter failed with status {status}")
    report = json.loads(stdout)
    return wall, float(report["seconds"]), rusage.ru_maxrss // 1024, int(report["kept"])


def ours(instructions: list[str]) -> tuple[float, list[bool]]:
    """The library call that `selfinstruct filter` makes, on a fresh index."""
    chain = FilterChain(filters=("rouge",))
    start = time.perf_counter()
    kept = [rejection is None for rejection in chain.offer_many(instructions)]
    return time.perf_counter() - start, kept


def brute_self_instruct(instructions: list[str]) -> tuple[float, list[bool]]:
    """Self-Instruct's loop: scorer.score(new, old) for every kept instruction (re-tokenizing each pair)."""
    from rouge_score import rouge_scorer

    scorer = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=False)
    kept_texts: list[str] = []
    start = time.perf_counter()
    decisions = []
    for text in instructions:
        keep = all(scorer.score(text, k)["rougeL"].fmeasure <= 0.7 for k in kept_texts)
        if keep:
            kept_texts.append(text)
        decisions.append(keep)
    return time.perf_counter() - start, decisions


def brute_alpaca(instructions: list[str]) -> tuple[float, list[bool]]:
    """Alpaca's loop: _score_lcs on pre-tokenized instructions against every kept one."""
    from rouge_score import rouge_scorer

    scorer = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=False)
    kept_tokens: list[list[str]] = []
    start = time.perf_counter()
    decisions = []
    for text in instructions:
        tokens = scorer._tokenizer.tokenize(text)
        keep = all(rouge_scorer._score_lcs(tokens, k).fmeasure <= 0.7 for k in kept_tokens)
        if keep:
            kept_tokens.append(tokens)
        decisions.append(keep)
    return time.perf_counter() - start, decisions


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 5000, 20000, 50000])
    parser.add_argument("--brute", type=int, default=1000, help="N for the brute-force comparison (0: skip)")
    parser.add_argument("--dup-share", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=5, help="runs of ours before, between and after the brute loops")
    args = parser.parse_args()

    print(f"machine: {os.cpu_count()} cores, python {sys.version.split()[0]}")
    print(f"{'N':>7} {'kept':>7} {'cli wall s':>10} {'filter s':>9} {'peak MiB':>9} {'us/instr':>9}")
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.sizes:
            instructions = generate_instructions(n, dup_share=args.dup_share, seed=args.seed)
            path = Path(tmp) / f"in_{n}.jsonl"
            path.write_text("".join(json.dumps({"instruction": t}) + "\n" for t in instructions), encoding="utf-8")
            wall, inner, rss, kept = run_cli(path, Path(tmp) / f"out_{n}.jsonl")
            print(f"{n:>7} {kept:>7} {wall:>10.2f} {inner:>9.2f} {rss:>9} {inner / n * 1e6:>9.1f}", flush=True)

    if args.brute:
        instructions = generate_instructions(args.brute, dup_share=args.dup_share, seed=args.seed)
        # Our run takes milliseconds and the brute-force loops most of a minute, so ours is repeated before,
        # between and after them (the same machine weather for both) and the median is compared.
        runs = [ours(instructions) for _ in range(args.repeat)]
        si_s, si = brute_self_instruct(instructions)
        runs += [ours(instructions) for _ in range(args.repeat)]
        al_s, al = brute_alpaca(instructions)
        runs += [ours(instructions) for _ in range(args.repeat)]
        fast = runs[0][1]
        assert all(r[1] == fast for r in runs)
        assert fast == si == al, "decisions differ from rouge-score"
        fast_s = statistics.median(r[0] for r in runs)
        print(f"\nbrute force at N={args.brute} (identical decisions: {sum(fast)} kept):")
        times = sorted(r[0] for r in runs)
        spread = f"(median of {len(runs)}; min {times[0]:.4f}, max {times[-1]:.4f})"
        print(f"  selfinstruct index        {fast_s:9.4f} s   {spread}")
        print(f"  Self-Instruct loop        {si_s:9.2f} s   -> {si_s / fast_s:,.0f}x slower")
        print(f"  Alpaca loop (pretokenized){al_s:9.2f} s   -> {al_s / fast_s:,.0f}x slower")


if __name__ == "__main__":
    main()
