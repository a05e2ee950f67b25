"""Benchmark: how long `generate` is held by a server that trickles its answers, and how a signal ends a run.

Part 1. Every completion is answered at once with its headers, then one body byte every --interval seconds:
no single read ever waits long, so only a deadline on the whole attempt ends it. Prints, for each --timeout,
the wall time of `selfinstruct generate -n 1` until it gives up (--max-retries 1: two attempts), the attempts
the server saw, and what one attempt would take without a deadline (body bytes x interval).

Part 2. SIGTERM to a run mid-way: seconds from the signal to the exit, the exit code, run.json's status.

    python benchmarks/bench_deadline.py
    python benchmarks/bench_deadline.py --timeout 1 5 --interval 0.05
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.servers.fake_openai import FakeOpenAIServer, Fault  # noqa: E402
from tests.servers.scripted_model import respond  # noqa: E402

KEY = "sk-bench"


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "SELFINSTRUCT_"))}
    return {**env, "OPENAI_API_KEY": KEY, "PYTHONPATH": str(ROOT)}


def _cli(out: Path, url: str, n: int, *extra: str) -> list[str]:
    return [sys.executable, "-m", "selfinstruct", "generate", "--seeds", str(ROOT / "seeds" / "seed_tasks.jsonl"),
            "--out", str(out), "--base-url", url, "--model", "fake-model", "--seed", "1", "-n", str(n), "-q",
            *extra]  # fmt: skip


def trickle(timeouts: list[float], interval: float, tmp: Path) -> None:
    print(f"{'--timeout':>9} {'exit':>4} {'wall s':>7} {'attempts':>8} {'one attempt without deadline':>29}")
    for timeout in timeouts:
        with FakeOpenAIServer(respond, api_key=KEY) as server:
            server.inject_when(lambda r: True, Fault(trickle=interval), times=1000)
            start = time.monotonic()
            argv = _cli(tmp / f"trickle-{timeout:g}", server.url, 1, "--timeout", f"{timeout:g}", "--max-retries", "1")
            result = subprocess.run(argv, env=_env(), capture_output=True, text=True, timeout=600)
            wall = time.monotonic() - start
            attempts = len(server.requests)
            first = server.requests[0]  # the same request answered at once: its body's length
            undeadlined = len(json.dumps(server.answer_body(first.path, first.body))) * interval
        print(f"{timeout:>9g} {result.returncode:>4} {wall:>7.1f} {attempts:>8} {undeadlined:>27.0f} s")


def sigterm(tmp: Path) -> None:
    out = tmp / "sigterm"
    with FakeOpenAIServer(respond, api_key=KEY, latency=0.2) as server:
        proc = subprocess.Popen(_cli(out, server.url, 40, "--concurrency", "8"), env=_env(),
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)  # fmt: skip
        pool = out / "tasks.jsonl"
        while proc.poll() is None and (len(pool.read_bytes().splitlines()) if pool.exists() else 0) < 5:
            time.sleep(0.02)  # mid-run: tasks committed, requests in flight
        start = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=60)
        took = time.monotonic() - start
    status = json.loads((out / "run.json").read_text())["status"]
    print(f"SIGTERM mid-run: exit {proc.returncode} after {took:.2f} s, run.json status {status!r}, stderr "
          f"{len(stderr.strip().splitlines())} line(s): {stderr.strip()!r}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--timeout", type=float, nargs="+", default=[1.0, 3.0])
    parser.add_argument("--interval", type=float, default=0.05, help="seconds between two body bytes")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        trickle(args.timeout, args.interval, Path(tmp))
        sigterm(Path(tmp))


if __name__ == "__main__":
    main()
