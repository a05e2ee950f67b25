"""Benchmark: how close do `respond --dry-run` and `prefer --dry-run` land to the real runs?

The dry runs know every request up front, so their request counts should be exact; their prompt tokens are
estimated from the rendered prompts (4.3 bytes per token) without the chat template's tokens, and their
completion tokens assume a typical answer (250 tokens) and verdict (60 tokens). This runs the estimate
(selfinstruct.estimate_respond / estimate_prefer, in-process: no model) and then the command itself (a CLI
child process, as a user runs it), and prints both from the tokens the endpoint reported (answers.jsonl and
judgments.jsonl, retries included), with the wall time and the CPU seconds of the children.

By default the embedded SmolLM2-135M answers and judges (its llama.cpp server reports real token counts);
--base-url/--model/--judge-model for a real endpoint.

    python benchmarks/bench_job_estimate.py                 # 8 seed instructions, the embedded model
    python benchmarks/bench_job_estimate.py -n 20 --base-url http://localhost:8000/v1 --model M --judge-model J
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import selfinstruct  # noqa: E402

SEEDS = ROOT / "seeds" / "seed_tasks.jsonl"


def lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def child_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run(argv: list[str], env: dict[str, str]) -> tuple[float, float, int]:
    """(wall seconds, CPU seconds of the child and its children, exit code) of one CLI run (its summary to
    stderr, so that stdout is the table)."""
    cpu, start = child_cpu(), time.perf_counter()
    code = subprocess.run([sys.executable, "-m", "selfinstruct", *argv, "-q"], env=env, check=False,
                          stdout=sys.stderr).returncode  # fmt: skip
    return time.perf_counter() - start, child_cpu() - cpu, code


def row(what: str, plan: Any, records: list[dict[str, Any]], wall: float, cpu: float, code: int) -> str:
    asked = sum(int(r.get("attempts", 1)) for r in records if "prompt_tokens" in r)
    prompt = sum(int(r.get("prompt_tokens", 0)) for r in records)
    completion = sum(int(r.get("completion_tokens", 0)) for r in records)
    each, reported = plan.prompt_tokens / max(plan.requests, 1), prompt / max(asked, 1)
    return (f"| {what} | {plan.requests:,} / {asked:,} | {plan.prompt_tokens:,} / {prompt:,} | {each:.0f} / "
            f"{reported:.0f} ({each / max(reported, 1):.2f}) | {plan.completion_tokens:,} (at most "
            f"{plan.worst_completion_tokens:,}) / {completion:,} | {wall:.0f} s | {cpu:.0f} s | {code} |")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", type=int, default=8, help="seed instructions to answer and judge")
    parser.add_argument("--base-url")
    parser.add_argument("--model")
    parser.add_argument("--judge-model")
    parser.add_argument("--rubric", default="all")
    parser.add_argument("--respond-only", action="store_true", help="skip prefer (the judge's half)")
    args = parser.parse_args()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "SELFINSTRUCT_"))}
    env |= {"OPENAI_API_KEY": os.environ.get("OPENAI_API_KEY", "")} if args.base_url else {}
    endpoint = ["--base-url", args.base_url] if args.base_url else []
    models = ["--model", args.model] if args.model else []
    judge = ["--judge-base-url", args.base_url] if args.base_url else []
    judge += ["--judge-model", args.judge_model] if args.judge_model else []
    print(f"load average {os.getloadavg()[0]:.1f}; {args.n} seed instructions; "
          f"{'the embedded model' if not args.base_url else args.base_url}")  # fmt: skip
    print("| command | requests: estimated / sent (retries included) | prompt tokens: estimated / reported | per "
          "request (ratio) | completion tokens: estimated / reported | wall | CPU | exit |")  # fmt: skip
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    with tempfile.TemporaryDirectory() as tmp:
        source, out = Path(tmp) / "seeds.jsonl", Path(tmp) / "answers"
        source.write_text("".join(SEEDS.read_text(encoding="utf-8").splitlines(keepends=True)[: args.n]))
        respond = [str(source), "--out", str(out), "--seed", "1", *endpoint, *models]
        plan = selfinstruct.estimate_respond(selfinstruct.RespondOptions(
            source=source, out=out, base_url=args.base_url, api_key=env.get("OPENAI_API_KEY"),
            model=(args.model,) if args.model else (), seed=1))  # fmt: skip
        wall, cpu, code = run(["respond", *respond], env)
        print(row("respond", plan, lines(out / "answers.jsonl"), wall, cpu, code))
        if args.respond_only:
            return
        prefer = [str(out), "--rubric", args.rubric, "--seed", "1", *judge]
        plan = selfinstruct.estimate_prefer(selfinstruct.PreferOptions(
            run_dir=out, judge_base_url=args.base_url, api_key=env.get("OPENAI_API_KEY"),
            judge_model=args.judge_model, rubric=args.rubric, seed=1))  # fmt: skip
        wall, cpu, code = run(["prefer", *prefer], env)
        print(row(f"prefer --rubric {args.rubric}", plan, lines(out / "judgments.jsonl"), wall, cpu, code))


if __name__ == "__main__":
    main()
