"""Benchmark: `selfinstruct filter --filters rouge` on 1k..1M real instructions, against brute force.

Prints, per N: wall seconds of the whole CLI process, seconds inside the filter loop, peak RSS, and how many
were kept. For N = 1k (or --brute N) it also runs the brute-force loops of the original scripts in-process
(Self-Instruct: rouge-score `scorer.score` against every kept instruction; Alpaca: `_score_lcs` on
pre-tokenized instructions), checks the decisions are identical, and prints the speed ratio.

`--sentences` draws from every ShareGPT turn split into sentences (1.19M distinct lines; needed beyond 45k).
With `--check K` each CLI run is then checked against rouge-score on samples: brute force on three runs of K
consecutive instructions (decisions identical), and K of its drops (each names an earlier kept instruction
that rouge-score scores above the threshold).

    python benchmarks/bench_filter.py                 # 1k, 5k, 20k, 50k
    python benchmarks/bench_filter.py --sizes 1000 --brute 1000
    python benchmarks/bench_filter.py --sentences --sizes 200000 1000000 --brute 0 --check 3000 --keep /tmp/bench
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.instruction_gen import Source, generate_instructions  # noqa: E402
from selfinstruct.filters import FilterChain  # noqa: E402


def run_cli(path: Path, out: Path, rejected: Path | None = None) -> tuple[float, float, int, int]:
    """(wall seconds, filter seconds, peak RSS in MiB, kept) of one CLI run in a child process."""
    cmd = [sys.executable, "-m", "selfinstruct", "filter", str(path), "--out", str(out), "--filters", "rouge"]
    if rejected is not None:
        cmd += ["--rejected", str(rejected)]
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


def check_samples(instructions: list[str], out: Path, rejected: Path, k: int, seed: int) -> None:
    """The CLI's decisions against rouge-score on samples of a large run (brute force on all of it is days)."""
    from rouge_score import rouge_scorer

    scorer = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=False)
    rng = random.Random(seed)
    kept = [json.loads(line)["instruction"] for line in out.open(encoding="utf-8")]
    drops = [json.loads(line) for line in rejected.open(encoding="utf-8")]
    assert len(kept) + len(drops) == len(instructions)
    # Every sampled drop names a kept instruction that comes earlier and that rouge-score scores above 0.7.
    kept_at: dict[str, int] = {}
    for line_no, text in zip(range(1, len(instructions) + 1), instructions, strict=True):
        kept_at.setdefault(text.strip(), line_no)
    sample = rng.sample(drops, min(k, len(drops)))
    kept_set = set(kept)
    for drop in sample:
        similar = drop["similar_to"]
        assert similar in kept_set and kept_at[similar] < drop["line"], drop
        assert scorer.score(similar, drop["record"]["instruction"].strip())["rougeL"].fmeasure > 0.7, drop
    # Three runs of k consecutive instructions, filtered on their own by both: identical decisions.
    for _ in range(3):
        start = rng.randrange(0, max(1, len(instructions) - k))
        part = instructions[start : start + k]
        fast = ours(part)[1]
        slow = brute_alpaca(part)[1]
        assert fast == slow, f"decisions differ from rouge-score on instructions {start}..{start + k}"
    print(f"  checked: {len(sample):,} drops name an earlier kept instruction above 0.7 (rouge-score); "
          f"3 x {k:,} consecutive instructions decided as rouge-score's brute force")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 5000, 20000, 50000])
    parser.add_argument("--brute", type=int, default=1000, help="N for the brute-force comparison (0: skip)")
    parser.add_argument("--dup-share", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=5, help="runs of ours before, between and after the brute loops")
    parser.add_argument("--sentences", action="store_true", help="draw from every turn's sentences (up to 1.19M)")
    parser.add_argument("--check", type=int, default=0, help="check each run against rouge-score on samples of K")
    parser.add_argument("--keep", type=Path, help="write the generated inputs here and reuse them on later runs")
    args = parser.parse_args()
    source: Source = "sentences" if args.sentences else "first_lines"

    print(f"machine: {os.cpu_count()} cores, python {sys.version.split()[0]}")
    print(f"{'N':>7} {'kept':>7} {'cli wall s':>10} {'filter s':>9} {'peak MiB':>9} {'us/instr':>9}")
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.sizes:
            out, rejected = (Path(tmp) / f"{name}_{n}.jsonl" for name in ("out", "rejected"))
            source_name = f"{'sentences' if args.sentences else 'lines'}_{n}_dup{args.dup_share}_seed{args.seed}.jsonl"
            path = (args.keep or Path(tmp)) / source_name
            if not path.exists():
                # Written by a child process: this one stays small, so the CLI's peak RSS is its own (a forked
                # child starts with its parent's high-water mark).
                path.parent.mkdir(parents=True, exist_ok=True)
                gen = [sys.executable, "-m", "benchmarks.instruction_gen", str(n), "--dup-share", str(args.dup_share)]
                partial = path.with_suffix(".partial")  # an interrupted run leaves nothing to reuse
                with partial.open("w", encoding="utf-8") as fh:
                    subprocess.run([*gen, "--seed", str(args.seed), *(["--sentences"] * args.sentences)],
                                   stdout=fh, check=True, cwd=ROOT)  # fmt: skip
                partial.replace(path)
            wall, inner, rss, kept = run_cli(path, out, rejected if args.check else None)
            print(f"{n:>7} {kept:>7} {wall:>10.2f} {inner:>9.2f} {rss:>9} {inner / n * 1e6:>9.1f}", flush=True)
            if args.check:
                instructions = [json.loads(line)["instruction"] for line in path.open(encoding="utf-8")]
                check_samples(instructions, out, rejected, args.check, args.seed)

    if args.brute:
        instructions = generate_instructions(args.brute, dup_share=args.dup_share, seed=args.seed, source=source)
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
