"""Benchmark: request throughput of `generate` against a fake endpoint with fixed latency and unlimited capacity.

The fake OpenAI server runs in its own process (tests/fake_openai.py, scripted model replies) and answers every
request after exactly --latency seconds, so the ideal request rate at concurrency C is C / latency. For each
C this prints requests per second, the share of the ideal, accepted tasks per second and the client's CPU time
per request (what limits scaling when many requests are in flight).

    python benchmarks/bench_generate.py                       # C = 1, 8, 32, 128; latency 0.2 s
    python benchmarks/bench_generate.py --concurrency 32 --latency 0.1
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from selfinstruct.generate import generate  # noqa: E402
from selfinstruct.llm import EndpointSettings  # noqa: E402
from selfinstruct.settings import GenerateSettings  # noqa: E402


def start_server(latency: float) -> tuple[subprocess.Popen[str], str]:
    cmd = [sys.executable, str(ROOT / "tests" / "fake_openai.py"), "--port", "0", "--latency", str(latency)]
    responder = ["--responder", "benchmarks.bench_responder:respond"]
    proc = subprocess.Popen([*cmd, *responder], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline().strip()
    if not line.startswith("READY "):
        proc.kill()
        raise SystemExit(f"fake server did not start: {line!r}")
    return proc, line.split()[1]


def run_once(url: str, concurrency: int, n: int, out: Path) -> tuple[float, float, int, int]:
    settings = GenerateSettings(
        seeds=ROOT / "seeds" / "seed_tasks.jsonl",
        out=out,
        n=n,
        endpoint=EndpointSettings(base_url=url, api_key="bench", model="fake-model", concurrency=concurrency),
        seed=1,
        min_acceptance=0.0,
    )
    wall0, cpu0 = time.perf_counter(), time.process_time()
    report = generate(settings)
    return time.perf_counter() - wall0, time.process_time() - cpu0, report.requests, report.accepted


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8, 32, 128])
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--seconds", type=float, default=15.0, help="approximate length of each run")
    args = parser.parse_args()

    proc, url = start_server(args.latency)
    try:
        print(f"machine: {os.cpu_count()} cores; fake endpoint latency {args.latency * 1000:.0f} ms")
        print(f"{'C':>4} {'tasks':>6} {'requests':>8} {'wall s':>7} {'req/s':>7} {'ideal':>7} {'share':>6} "
              f"{'tasks/s':>8} {'CPU ms/req':>10}")  # fmt: skip
        for c in args.concurrency:
            ideal = c / args.latency
            # About 2.5 requests per accepted task with this responder; size the run to ~--seconds.
            n = max(10, int(ideal * args.seconds / 2.5))
            with tempfile.TemporaryDirectory() as tmp:
                wall, cpu, requests, accepted = run_once(url, c, n, Path(tmp) / "run")
            rate = requests / wall
            print(f"{c:>4} {accepted:>6} {requests:>8} {wall:>7.1f} {rate:>7.1f} {ideal:>7.1f} {rate / ideal:>6.0%} "
                  f"{accepted / wall:>8.1f} {cpu / requests * 1000:>10.2f}", flush=True)  # fmt: skip
    finally:
        proc.terminate()
        proc.wait(timeout=10)


if __name__ == "__main__":
    main()
