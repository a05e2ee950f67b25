"""Benchmark: request throughput of `generate` against a fake endpoint with fixed latency and unlimited capacity.

The fake OpenAI server runs in its own process (tests/servers/fake_openai.py, scripted model replies) and answers every
request after exactly --latency seconds, so the ideal request rate at concurrency C is C / latency. For each
C this prints requests per second, the share of the ideal, accepted tasks per second and the client's CPU time
per request (what limits scaling when many requests are in flight).

With --economy it measures what a run pays instead: requests per accepted task at each concurrency against
the minimum the pipeline needs for the same pool. That minimum is read from the run's own files: every
instruction request up to the last one committed, plus a classify and an instances request for every
candidate that reached that stage (accepted, or rejected for its instances); a strictly sequential run pays
exactly that.

With --fault the same runs are also made against a second fake that answers a random share of requests with an
error (e.g. 10% 429 with Retry-After 1 s and 5% 500), clean and faulty alternating, and each faulty row shows
its tasks/min as a share of the clean row's.

    python benchmarks/bench_generate.py                       # C = 1, 8, 32, 128; latency 0.2 s
    python benchmarks/bench_generate.py --concurrency 32 --latency 0.1
    python benchmarks/bench_generate.py --economy -n 50 200 --concurrency 1 32
    python benchmarks/bench_generate.py --concurrency 32 --tasks 500 --fault 429:0.1:1 --fault 500:0.05
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

import openai  # noqa: E402, F401  # imported before any run is timed (0.4 s the first row alone would pay)

from selfinstruct.engine.types import EndpointSettings  # noqa: E402
from selfinstruct.pipeline.generate import generate  # noqa: E402
from selfinstruct.pipeline.settings import GenerateSettings  # noqa: E402

RESPONDERS = {"scripted": "tests.servers.scripted_model:respond", "realistic": "benchmarks.bench_responder:respond"}


def start_server(
    latency: float, responder_spec: str = RESPONDERS["realistic"], faults: list[str] | None = None, fault_seed: int = 0
) -> tuple[subprocess.Popen[str], str]:
    cmd = [sys.executable, str(ROOT / "tests" / "servers" / "fake_openai.py"), "--port", "0", "--latency", str(latency)]
    responder = ["--responder", responder_spec, *(arg for fault in faults or [] for arg in ("--fault", fault))]
    responder += ["--fault-seed", str(fault_seed)] if faults else []
    proc = subprocess.Popen([*cmd, *responder], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline().strip()
    if not line.startswith("READY "):
        proc.kill()
        raise SystemExit(f"fake server did not start: {line!r}")
    return proc, line.split()[1]


def process_cpu(pid: int) -> float:
    """CPU seconds (user + system) a process has used so far, from /proc (0.0 where there is none)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


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
    return time.perf_counter() - wall0, time.process_time() - cpu0, report.run.requests, report.accepted


def minimum_requests(out: Path) -> tuple[int, int]:
    """(minimum requests for this pool, accepted tasks), from tasks.jsonl and rejected.jsonl."""
    files = [out / name for name in ("tasks.jsonl", "rejected.jsonl") if (out / name).exists()]
    records = [json.loads(line) for path in files for line in path.open(encoding="utf-8")]
    accepted = sum(1 for r in records if "id" in r)
    reached_instances = accepted + sum(1 for r in records if r.get("stage") == "instances")
    last_request = max(r["meta"]["request"] for r in records if "id" in r)
    return last_request + 1 + 2 * reached_instances, accepted


def economy(args: argparse.Namespace) -> None:
    print(f"{'responder':>10} {'C':>4} {'n':>5} {'requests':>8} {'minimum':>8} {'excess':>7} {'req/task':>8} "
          f"{'tokens':>9} {'wall s':>7}")  # fmt: skip
    for name in args.responders:
        proc, url = start_server(args.latency, RESPONDERS[name])
        try:
            for n in args.n:
                for c in args.concurrency:
                    with tempfile.TemporaryDirectory() as tmp:
                        out = Path(tmp) / "run"
                        wall, _, requests, _ = run_once(url, c, n, out)
                        minimum, accepted = minimum_requests(out)
                        tokens = sum(
                            s["prompt_tokens"] + s["completion_tokens"]
                            for s in json.loads((out / "run.json").read_text())["usage"].values()
                        )
                    print(f"{name:>10} {c:>4} {accepted:>5} {requests:>8} {minimum:>8} {requests / minimum - 1:>7.1%} "
                          f"{requests / accepted:>8.2f} {tokens:>9,} {wall:>7.1f}", flush=True)  # fmt: skip
        finally:
            proc.terminate()
            proc.wait(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--concurrency", type=int, nargs="+", default=None)
    parser.add_argument("--latency", type=float, default=None, help="seconds per request [0.2; --economy: 0.02]")
    parser.add_argument("--seconds", type=float, default=15.0, help="approximate length of each run")
    parser.add_argument("--economy", action="store_true", help="requests per task against the minimum")
    parser.add_argument("-n", type=int, nargs="+", default=[50, 200], help="--economy: tasks per run")
    parser.add_argument("--responders", nargs="+", choices=sorted(RESPONDERS), default=sorted(RESPONDERS))
    parser.add_argument("--tasks", type=int, default=None, help="tasks per run (default: sized by --seconds)")
    parser.add_argument("--fault", action="append", default=[], metavar="STATUS:SHARE[:RETRY_AFTER]",
                        help="also run against a fake with this fault mix (repeatable)")  # fmt: skip
    parser.add_argument("--fault-seed", type=int, default=0, help="seed of the fake's random fault draws [0]")
    args = parser.parse_args()
    if args.economy:
        args.concurrency = args.concurrency or [1, 32]
        args.latency = 0.02 if args.latency is None else args.latency
        economy(args)
        return
    args.concurrency = args.concurrency or [1, 8, 32, 128]
    args.latency = 0.2 if args.latency is None else args.latency

    servers = [("clean", *start_server(args.latency))]
    if args.fault:
        servers.append(("faults", *start_server(args.latency, faults=args.fault, fault_seed=args.fault_seed)))
    try:
        print(f"machine: {os.cpu_count()} cores; fake endpoint latency {args.latency * 1000:.0f} ms"
              + (f"; faults: {' '.join(args.fault)}" if args.fault else ""))  # fmt: skip
        print(f"{'run':>6} {'C':>4} {'tasks':>6} {'requests':>8} {'wall s':>7} {'req/s':>7} {'ideal':>7} {'share':>6} "
              f"{'tasks/min':>9} {'vs clean':>8} {'CPU ms/req':>10} {'fake ms/req':>11}")  # fmt: skip
        for c in args.concurrency:
            ideal = c / args.latency
            # About 2.5 requests per accepted task with this responder; size the run to ~--seconds.
            n = args.tasks or max(10, int(ideal * args.seconds / 2.5))
            clean = 0.0
            for name, proc, url in servers:
                fake0 = process_cpu(proc.pid)
                with tempfile.TemporaryDirectory() as tmp:
                    wall, cpu, requests, accepted = run_once(url, c, n, Path(tmp) / "run")
                fake = process_cpu(proc.pid) - fake0
                rate, per_min = requests / wall, accepted / wall * 60
                clean = clean or per_min
                print(f"{name:>6} {c:>4} {accepted:>6} {requests:>8} {wall:>7.1f} {rate:>7.1f} {ideal:>7.1f} "
                      f"{rate / ideal:>6.0%} {per_min:>9.0f} {per_min / clean:>8.0%} {cpu / requests * 1000:>10.2f} "
                      f"{fake / requests * 1000:>11.2f}",
                      flush=True)  # fmt: skip
    finally:
        for _, proc, _ in servers:
            proc.terminate()
            proc.wait(timeout=10)


if __name__ == "__main__":
    main()
