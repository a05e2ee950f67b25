"""Benchmark: what an interrupted run pays again when it is resumed (the response journal's job).

The fake OpenAI server runs in this process (benchmark responder, fixed latency) and counts the tokens it
serves, including requests a kill cuts off. `generate` runs as a CLI child process three times: once
uninterrupted; once interrupted (Ctrl-C or kill -9) when the pool reaches about 1/6 of the target, then
resumed with the same command. Also an extension: -n N/2, then -n N, against -n N directly. Prints requests and
tokens of each, the overhead over the uninterrupted run and whether tasks.jsonl is byte-identical.

    python benchmarks/bench_resume.py                         # 300 tasks, concurrency 8, 200 ms, Ctrl-C
    python benchmarks/bench_resume.py --signal kill -n 120 --latency 0.05
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.bench_responder import respond  # noqa: E402
from benchmarks.metering import Meter  # noqa: E402
from tests.servers.fake_openai import FakeOpenAIServer  # noqa: E402


def spent(meter: Meter) -> tuple[int, int]:
    """Requests and tokens (prompt + completion) served since the last call."""
    requests, prompt, completion = meter.take()
    return requests, prompt + completion


def command(out: Path, url: str, n: int, concurrency: int) -> list[str]:
    return [sys.executable, "-m", "selfinstruct", "generate", "--seeds", str(ROOT / "seeds" / "seed_tasks.jsonl"),
            "--out", str(out), "--base-url", url, "--model", "fake-model", "--seed", "1", "-n", str(n), "-q",
            "--concurrency", str(concurrency), "--min-acceptance", "0"]  # fmt: skip


def lines(path: Path) -> int:
    return path.read_bytes().count(b"\n") if path.exists() else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--signal", choices=["int", "kill"], default="int", help="Ctrl-C (SIGINT) or kill -9")
    args = parser.parse_args()
    sig = signal.SIGINT if args.signal == "int" else signal.SIGKILL
    env = {**os.environ, "OPENAI_API_KEY": "bench", "PYTHONPATH": str(ROOT)}
    env.pop("OPENAI_BASE_URL", None)
    meter = Meter(respond)

    def run(out: Path, n: int) -> None:
        subprocess.run(command(out, url, n, args.concurrency), env=env, check=True, cwd=ROOT, capture_output=True)

    with FakeOpenAIServer(meter, latency=args.latency) as server, tempfile.TemporaryDirectory() as tmp:
        url = server.url
        base = Path(tmp)
        print(f"{args.n} tasks, concurrency {args.concurrency}, latency {args.latency * 1000:.0f} ms; "
              f"interrupt with {'Ctrl-C' if sig == signal.SIGINT else 'kill -9'} at ~1/6")  # fmt: skip
        start = time.perf_counter()
        run(base / "reference", args.n)
        ref_requests, ref_tokens = spent(meter)
        print(f"{'uninterrupted':<22} {ref_requests:>6} requests {ref_tokens:>9,} tokens "
              f"({time.perf_counter() - start:.1f} s)")  # fmt: skip

        out = base / "interrupted"
        proc = subprocess.Popen(command(out, url, args.n, args.concurrency), env=env, cwd=ROOT,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
        while lines(out / "tasks.jsonl") < args.n // 6 and proc.poll() is None:
            time.sleep(0.005)
        proc.send_signal(sig)
        proc.wait()
        at = lines(out / "tasks.jsonl")
        first = spent(meter)
        run(out, args.n)
        second = spent(meter)
        total = (first[0] + second[0], first[1] + second[1])
        print(f"{f'interrupted at {at}':<22} {first[0]:>6} requests {first[1]:>9,} tokens")
        print(f"{'resumed':<22} {second[0]:>6} requests {second[1]:>9,} tokens")
        same = (out / "tasks.jsonl").read_bytes() == (base / "reference" / "tasks.jsonl").read_bytes()
        verdict = "identical" if same else "DIFFERENT"
        print(f"{'interrupted + resumed':<22} {total[0]:>6} requests {total[1]:>9,} tokens: "
              f"{total[1] / ref_tokens - 1:+.1%} tokens, tasks.jsonl {verdict}")  # fmt: skip

        ext = base / "extended"
        run(ext, args.n // 2)
        half = spent(meter)
        run(ext, args.n)
        rest = spent(meter)
        tokens = half[1] + rest[1]
        same = (ext / "tasks.jsonl").read_bytes() == (base / "reference" / "tasks.jsonl").read_bytes()
        verdict = "identical" if same else "DIFFERENT"
        print(f"{f'-n {args.n // 2} then -n {args.n}':<22} {half[0] + rest[0]:>6} requests {tokens:>9,} tokens: "
              f"{tokens / ref_tokens - 1:+.1%} tokens, tasks.jsonl {verdict}")  # fmt: skip


if __name__ == "__main__":
    main()
