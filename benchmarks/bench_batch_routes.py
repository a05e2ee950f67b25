"""Benchmark: `generate --batch` with a model per step against one model, on two loopback fake Batch servers.

The fake servers (scripted model, each with the Files and Batches endpoints) run in this process; `generate`
runs as a CLI child process, alternately: `--batch` on one endpoint and model, then `--batch` with classify on
the second server (its own model and key) and instances by another model on the first, the same -n and seed.
Prints per run the batches made at each server, the lines they held, the child's CPU seconds (user + system:
steadier than wall time on a shared machine) and wall time, and whether the pools are byte-identical (the
scripted model answers a prompt the same whatever the model).

    python benchmarks/bench_batch_routes.py                 # 40 tasks, 3 rounds of each
    python benchmarks/bench_batch_routes.py -n 100 --rounds 2
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.servers import scripted_model  # noqa: E402
from tests.servers.fake_batches import FakeBatches  # noqa: E402
from tests.servers.fake_openai import FakeOpenAIServer  # noqa: E402


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    sides = [FakeBatches(step_seconds=0.05), FakeBatches(step_seconds=0.05)]
    main_server = FakeOpenAIServer(scripted_model.respond, api_key="k-main", routes=sides[0]).start()
    second = FakeOpenAIServer(scripted_model.respond, api_key="k-2", models=["strong-model"], routes=sides[1]).start()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "SELFINSTRUCT_"))}
    env |= {"OPENAI_API_KEY": "k-main", "STRONG_KEY": "k-2", "SELFINSTRUCT_BATCH_POLL": "0.02",
            "PYTHONPATH": str(ROOT)}  # fmt: skip
    routed = ["--step-base-url", f"classify={second.url}", "--step-model", "classify=strong-model",
              "--step-api-key-env", "classify=STRONG_KEY", "--step-model", "instances=mid-model"]  # fmt: skip
    pools: dict[str, set[bytes]] = {"one model": set(), "per step": set()}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            print(f"-n {args.n}, load average {os.getloadavg()[0]:.2f}")
            print(f"{'run':<10} {'batches (1st / 2nd server)':>28} {'lines':>6} {'CPU s':>6} {'wall s':>7}")
            for i in range(args.rounds):
                for name, extra in (("one model", []), ("per step", routed)):
                    out = Path(tmp) / f"{name.replace(' ', '_')}{i}"
                    made = [len(s.created) for s in sides]
                    lines = sum(sum(s.submissions.values()) for s in sides)
                    cpu, start = children_cpu(), time.monotonic()
                    subprocess.run([sys.executable, "-m", "selfinstruct", "generate", "--seeds",
                                    str(ROOT / "seeds" / "seed_tasks.jsonl"), "--out", str(out), "--base-url",
                                    main_server.url, "--model", "fake-model", "--seed", "7", "-n", str(args.n), "-q",
                                    "--batch", *extra], env=env, check=True, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL)  # fmt: skip
                    cpu, wall = children_cpu() - cpu, time.monotonic() - start
                    batches = " / ".join(str(len(s.created) - m) for s, m in zip(sides, made, strict=True))
                    sent = sum(sum(s.submissions.values()) for s in sides) - lines
                    print(f"{name:<10} {batches:>28} {sent:>6} {cpu:>6.2f} {wall:>7.1f}")
                    pools[name].add((out / "tasks.jsonl").read_bytes())
            identical = len(pools["one model"] | pools["per step"]) == 1
            print(f"pools byte-identical across all runs: {identical}; load average {os.getloadavg()[0]:.2f}")
    finally:
        main_server.stop()
        second.stop()


if __name__ == "__main__":
    main()
