"""Benchmark: `selfinstruct stats` on real instructions (ShareGPT, `pip install -e ".[bench]"`).

1. Without the parser on N tasks (default 50k), a pool as `generate` leaves one: distinct real lines (every
   ShareGPT turn split into sentences) that the near-duplicate filter kept, so few tasks have a close
   neighbour. Wall seconds of the whole compute_stats call in a child process,
   its read, similarity (exact max ROUGE-L to every earlier instruction, and to the seeds) and lengths/checks
   (tokens, pairs, sample, warnings) parts, the child's CPU seconds and peak RSS. The machine's load average
   is printed too: the wall time of a loaded machine says little.
2. With the spaCy parser on M tasks of such a pool (default 2k): tasks per second of the verb–noun step (model
   load apart).
3. The whole `selfinstruct stats RUN --html` CLI on a 5k-task run directory with the bundled seeds (verbs on):
   wall seconds, the page's size, and that it has every section and fetches nothing.

    python benchmarks/bench_stats.py
    python benchmarks/bench_stats.py --n 20000 --parse-n 500 --html-n 0
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.instruction_gen import generate_instructions  # noqa: E402
from selfinstruct.stats.verbs import load_parser, verb_stats  # noqa: E402

CHILD = """
import json, sys, time
from pathlib import Path
from selfinstruct.stats.compute import compute_stats
start = time.perf_counter()
stats = compute_stats(Path(sys.argv[1]), parse_verbs=False)
print(json.dumps({"wall": time.perf_counter() - start, "seconds": stats.seconds, "tasks": stats.tasks,
                  "exact": stats.similarity_exact, "similarity": stats.similarity_counts,
                  "seeds": stats.seed_similarity_counts, "dupes": stats.exact_duplicates,
                  "pair": stats.near_pairs[0].score if stats.near_pairs else 0.0, "tokenizer": stats.tokenizer}))
"""


def write_pool(path: Path, instructions: list[str]) -> None:
    with path.open("w", encoding="utf-8") as fh:
        for k, text in enumerate(instructions):
            instance = {"input": "" if k % 3 else f"Example input {k}.", "output": f"A short answer number {k}."}
            row = {"id": f"machine_task_{k}", "instruction": text, "instances": [instance], "is_classification": False}
            fh.write(json.dumps(row) + "\n")


def write_run(out: Path, instructions: list[str]) -> None:
    """A run directory as `generate` leaves it (pool, the bundled seeds, run.json, a few rejections)."""
    out.mkdir()
    write_pool(out / "tasks.jsonl", instructions)
    (out / "seeds.jsonl").write_text((ROOT / "seeds" / "seed_tasks.jsonl").read_text(encoding="utf-8"))
    rejected = [{"stage": "filter", "reason": "near_duplicate", "detail": "ROUGE-L 0.8 > 0.7", "instruction": t,
                 "raw": f"Task 9: {t}"} for t in instructions[:50]]  # fmt: skip
    (out / "rejected.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rejected), encoding="utf-8")
    usage = {"instructions": {"requests": len(instructions) // 8, "prompt_tokens": 0, "completion_tokens": 0,
                              "truncated": 3}}  # fmt: skip
    (out / "run.json").write_text(json.dumps({"status": "complete", "usage": usage}), encoding="utf-8")


def bench_html(n: int) -> None:
    sections = ("warnings", "summary", "run", "rejected", "lengths", "similarity", "pairs", "verbs", "sample")
    with tempfile.TemporaryDirectory() as tmp:
        run, page = Path(tmp) / "run", Path(tmp) / "stats.html"
        write_run(run, generate_instructions(n, dup_share=0.05, seed=2))
        start = time.perf_counter()
        cmd = [sys.executable, "-m", "selfinstruct", "stats", str(run), "--html", str(page), "-q"]
        subprocess.run(cmd, check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
        wall = time.perf_counter() - start
        text = page.read_text(encoding="utf-8")
    missing = [s for s in sections if f'<section id="{s}">' not in text]
    external = re.findall(r"<script|<link|<img|src=|href=\"(?!#)", text)
    print(f"stats --html, {n:,}-task run directory: {wall:.2f} s, {len(text) / 1024:,.0f} KiB, "
          f"{text.count('<svg')} inline SVG charts, sections missing: {missing or 'none'}, "
          f"external references: {len(external)}")  # fmt: skip


def filtered_pool(n: int, seed: int = 0) -> list[str]:
    """n distinct real lines in a seeded order, none with ROUGE-L F1 above 0.7 to an earlier one."""
    from selfinstruct.filters.rouge import NearDuplicateIndex

    drawn = n
    while True:
        texts = generate_instructions(drawn, dup_share=0.0, seed=seed, source="sentences")
        index = NearDuplicateIndex()
        index.add_unique(texts)
        if len(index) >= n:
            return index.instructions[:n]
        drawn = int(drawn * n / max(1, len(index)) * 1.05) + 1


def bench_without_parser(n: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "run"
        # Written by a child process, so that the measured child's peak RSS is its own (fork copies this one's).
        code = "import sys; from pathlib import Path; from benchmarks import bench_stats as b; "
        code += "b.write_run(Path(sys.argv[1]), b.filtered_pool(int(sys.argv[2])))"
        subprocess.run([sys.executable, "-c", code, str(path), str(n)], check=True, cwd=ROOT)
        proc = subprocess.Popen([sys.executable, "-c", CHILD, str(path)], stdout=subprocess.PIPE, cwd=ROOT)
        assert proc.stdout is not None
        out = proc.stdout.read()
        _, status, rusage = os.wait4(proc.pid, 0)
        if status != 0:
            raise SystemExit(f"stats failed with status {status}")
    report = json.loads(out)
    parts = ", ".join(f"{k} {v:.2f} s" for k, v in report["seconds"].items() if k != "verbs")
    print(f"stats without parser, {report['tasks']:,}-task run directory (+ the bundled seeds): "
          f"{report['wall']:.2f} s ({parts}), {rusage.ru_utime + rusage.ru_stime:.1f} s CPU, "
          f"peak RSS {rusage.ru_maxrss // 1024} MiB, exact similarity: {report['exact']}, "
          f"load average after {os.getloadavg()[0]:.1f}")  # fmt: skip
    print(f"  similarity histogram (0.1 bins): {report['similarity']}")
    print(f"  to the seeds (Figure 3):          {report['seeds']}")
    print(f"  exact duplicates {report['dupes']}, closest pair {report['pair']:.3f}, tokens by {report['tokenizer']}")


def _cpu() -> float:
    """CPU seconds of this process and of its ended children (the parsing processes)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def bench_parser(n: int) -> None:
    start = time.perf_counter()
    nlp = load_parser()
    if nlp is None:
        print('parser: spaCy or its model is not installed (pip install "selfinstruct[stats]"); skipped')
        return
    loaded = time.perf_counter() - start
    texts = filtered_pool(n, seed=1)
    start, cpu = time.perf_counter(), _cpu()
    verbs = verb_stats(texts, nlp)
    seconds, cpu = time.perf_counter() - start, _cpu() - cpu
    print(f"stats parser, {n:,} tasks of the filtered pool: {n / seconds:,.0f} tasks/s ({seconds:.2f} s, "
          f"{cpu:.2f} s CPU; model load {loaded:.2f} s; load average {os.getloadavg()[0]:.1f})")  # fmt: skip
    print(f"  {verbs.distinct_verbs} verbs, {verbs.distinct_pairs} verb-noun pairs, {verbs.pair_share:.0%} with a pair")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=50_000, help="tasks for the run without the parser (0: skip)")
    parser.add_argument("--parse-n", type=int, default=2_000, help="tasks for the parser run (0: skip)")
    parser.add_argument("--html-n", type=int, default=5_000, help="tasks of the HTML run directory (0: skip)")
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} cores, python {sys.version.split()[0]}, load {os.getloadavg()[0]:.1f}")
    if args.n:
        bench_without_parser(args.n)
    if args.parse_n:
        bench_parser(args.parse_n)
    if args.html_n:
        bench_html(args.html_n)


if __name__ == "__main__":
    main()
