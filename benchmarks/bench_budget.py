"""Benchmark: does `generate` keep its hard caps, and how close does `--dry-run` land to a real run?

The fake OpenAI server runs in this process (the tests' scripted model) and counts tokens like a BPE
pre-tokenizer (words, numbers, punctuation, one per CJK character), so its usage resembles a real endpoint's.
It meters every request it answers, including those the client abandons, so "served" is what a provider
would bill. `generate` runs as a CLI child process, as a user runs it.

Caps: `-n 500` with `--max-tokens-total` of each size at each concurrency, and one `--max-cost`; prints the
tokens served, their share of the cap and the exit status (3: budget). Before issue 10 a cap of 30,000 stopped
after 128,250 tokens.

Dry run: the estimate of `--dry-run` against the real run of the same command, in tokens and dollars.

Hostile (--hostile): the endpoint of tests/servers/hostile.py (usage omitted, null, negative, a string or fractional;
replies billed after the client's 1 s timeout; 5xx, 429, dropped connections, 10 MB bodies) at concurrency 32,
each run killed (-9) K times at random and resumed until the cap stops it. Prints what the server billed
(metered as it generates, abandoned replies included) against the cap, and what the journal charged.

    python benchmarks/bench_budget.py
    python benchmarks/bench_budget.py --caps 30000 --concurrency 32
    python benchmarks/bench_budget.py --hostile --caps 20000 80000 --kills 0 6
"""

from __future__ import annotations

import argparse
import json
import random
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.metering import Meter  # noqa: E402
from tests.servers.fake_openai import FakeOpenAIServer, bpe_like_count  # noqa: E402
from tests.servers.hostile import make_hostile  # noqa: E402
from tests.servers.scripted_model import respond  # noqa: E402

PRICES = (0.15, 0.60)  # USD per 1M prompt / completion tokens
PRICE_ARGS = ["--price-input", str(PRICES[0]), "--price-output", str(PRICES[1])]
SEEDS = {"en": ROOT / "seeds" / "seed_tasks.jsonl", "zh": ROOT / "seeds" / "zh" / "seed_tasks.jsonl"}
DRY_RUNS = [
    ("self-instruct, en, -n 50", ["-n", "50"]),
    ("self-instruct, en, -n 200", ["-n", "200", "--concurrency", "16"]),
    ("self-instruct, zh, -n 100", ["-n", "100", "--language", "zh", "--seeds", str(SEEDS["zh"])]),
    ("alpaca, en, -n 100", ["-n", "100", "--mode", "alpaca"]),
]


def argv(url: str, out: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "selfinstruct", "generate", "--seeds", str(SEEDS["en"]), "--out", str(out),
            "--base-url", url, "--model", "fake-model", "--seed", "3", "-q", "--min-acceptance", "0",
            *args]  # fmt: skip


ENV = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)}


def generate(url: str, out: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv(url, out, *args), capture_output=True, text=True, env=ENV, check=False)


def number(pattern: str, text: str) -> float:
    match = re.search(pattern, text)
    if match is None:
        raise SystemExit(f"no {pattern!r} in:\n{text}")
    return float(match.group(1).replace(",", ""))


def caps(url: str, meter: Meter, args: argparse.Namespace) -> None:
    print(f"{'cap':>12} {'C':>4} {'exit':>4} {'tasks':>6} {'served':>9} {'of cap':>7}")
    runs = [(["--max-tokens-total", str(cap)], f"{cap:,} tok", cap) for cap in args.caps]
    runs.append((["--max-cost", str(args.max_cost), *PRICE_ARGS], f"${args.max_cost:g}", None))
    for cap_args, label, cap in runs:
        for c in args.concurrency:
            with tempfile.TemporaryDirectory() as tmp:
                out = Path(tmp) / "run"
                done = generate(url, out, "-n", "500", "--concurrency", str(c), *cap_args)
                tasks = (out / "tasks.jsonl").read_bytes().count(b"\n") if (out / "tasks.jsonl").exists() else 0
            _, prompt, completion = meter.take()
            if cap is None:
                served = (prompt * PRICES[0] + completion * PRICES[1]) / 1e6
                share, shown = served / args.max_cost, f"${served:.4f}"
            else:
                share, shown = (prompt + completion) / cap, f"{prompt + completion:,}"
            print(f"{label:>12} {c:>4} {done.returncode:>4} {tasks:>6} {shown:>9} {share:>7.1%}", flush=True)


def dry_runs(url: str, meter: Meter) -> None:
    print(f"\n{'run':<28} {'estimated':>10} {'real':>10} {'tokens':>7} {'est. $':>8} {'real $':>8} {'dollars':>7}")
    for label, args in DRY_RUNS:
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "run"
            plan = generate(url, out, *PRICE_ARGS, *args, "--dry-run")
            meter.take()
            real = generate(url, out, *PRICE_ARGS, *args)
            if real.returncode != 0:
                raise SystemExit(f"{label}: exit {real.returncode}: {real.stderr.strip()[-300:]}")
            usage = json.loads((out / "run.json").read_text())["usage"].values()
        meter.take()
        prompt = sum(s["prompt_tokens"] for s in usage)
        completion = sum(s["completion_tokens"] for s in usage)
        estimated = number(r"tokens: ([\d,]+) \(about\)", plan.stdout)
        estimated_cost = number(r"cost: \$([\d.]+) \(about\)", plan.stdout)
        real_cost = (prompt * PRICES[0] + completion * PRICES[1]) / 1e6
        tokens = prompt + completion
        print(f"{label:<28} {estimated:>10,.0f} {tokens:>10,} {estimated / tokens - 1:>+7.1%} {estimated_cost:>8.4f} "
              f"{real_cost:>8.4f} {estimated_cost / real_cost - 1:>+7.1%}", flush=True)  # fmt: skip


def hostile(args: argparse.Namespace) -> None:
    """Served (server-metered) against the cap, on the hostile endpoint with kill -9 + resume."""
    timeout = 1.0
    print(f"{'cap':>8} {'kills':>5} {'exit':>4} {'served':>8} {'of cap':>7} {'charged':>8} {'no usage':>8} "
          f"{'unanswered':>10} {'wall s':>7}")  # fmt: skip
    for cap in args.caps:
        for kills in args.kills:
            rng = random.Random(cap + kills)
            start = time.monotonic()
            with tempfile.TemporaryDirectory() as tmp, FakeOpenAIServer(respond, enforce_max_tokens=True) as server:
                make_hostile(server, timeout, seed=cap + kills)
                out = Path(tmp) / "run"
                cmd = argv(server.url, out, "-n", "2000", "--concurrency", "32", "--timeout", str(timeout),
                           "--max-retries", "3", "--max-tokens-total", str(cap))  # fmt: skip
                for _ in range(kills):
                    proc = subprocess.Popen(cmd, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                    time.sleep(rng.uniform(1.0, 3.0))
                    proc.send_signal(signal.SIGKILL)
                    proc.wait()
                for _ in range(10):  # a request that met faults on every try stops a run (exit 1): run it again
                    done = subprocess.run(cmd, env=ENV, capture_output=True, text=True, check=False)
                    if done.returncode != 1:
                        break
                deadline = time.monotonic() + 60
                while any(not r.outcome for r in server.requests) and time.monotonic() < deadline:
                    time.sleep(0.05)
                served = server.served_tokens
                usage = json.loads((out / "run.json").read_text())["usage"].values()
            charged = sum(s["prompt_tokens"] + s["completion_tokens"] for s in usage)
            no_usage = sum(s.get("no_usage", 0) for s in usage)
            unanswered = sum(s.get("unanswered", 0) for s in usage)
            print(f"{cap:>8,} {kills:>5} {done.returncode:>4} {served:>8,} {served / cap:>7.1%} {charged:>8,} "
                  f"{no_usage:>8} {unanswered:>10} {time.monotonic() - start:>7.1f}", flush=True)  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--caps", type=int, nargs="+", default=[10_000, 30_000, 80_000])
    parser.add_argument("--max-cost", type=float, default=0.005, help="the --max-cost run's cap in USD")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--no-dry-run", action="store_true", help="only the caps")
    parser.add_argument("--hostile", action="store_true", help="only the hostile endpoint with kill -9 + resume")
    parser.add_argument("--kills", type=int, nargs="+", default=[0, 6], help="--hostile: kill -9 per run")
    args = parser.parse_args()
    if args.hostile:
        hostile(args)
        return
    meter = Meter(respond, bpe_like_count)
    with FakeOpenAIServer(meter, count_tokens=bpe_like_count) as server:
        caps(server.url, meter, args)
        if not args.no_dry_run:
            dry_runs(server.url, meter)


if __name__ == "__main__":
    main()
