"""Benchmark: stop sequences that end replies inside an output, and what a reply that invents the next task costs.

The strict fake (tests/servers/fake_openai.py) applies ``stop`` as servers do, and max_tokens (in words). The scripted
model's answers, here, put text a bare stop matches inside outputs: Alpaca outputs quote "$20.50" (every third)
or start a line with "20." (every tenth), one input-first example in three is a to-do list with a "Task:" line
in its output, and every instance reply then goes on, as a base model does, to invent the next task with its
examples until a stop or max_tokens ends it. Every output ends in "(end)" when whole, so this counts the pool's
outputs that were cut, the generative instances kept per task and the instance step's completion tokens per
task, per stop set and per server kind: one that names the stop that fired (vLLM's ``stop_reason``) and one
that does not (OpenAI, llama.cpp, Ollama). Stop sets: the originals' bare ones, the line-anchored ones with
"\nTask:" (before issue 21's last item), and today's defaults (a new task's "\nExample 1").

    python benchmarks/bench_stops.py            # -n 40 per run, both modes
    python benchmarks/bench_stops.py -n 100
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from click.testing import CliRunner  # noqa: E402

import selfinstruct.methods.alpaca.method as alpaca  # noqa: E402
import selfinstruct.methods.self_instruct.params as self_instruct  # noqa: E402
from selfinstruct.cli.app import cli  # noqa: E402
from tests.servers.fake_openai import FakeOpenAIServer, Reply, Request  # noqa: E402
from tests.servers.scripted_model import instruction_for, respond, rng_for  # noqa: E402

ORIGINAL = {"ALPACA_STOPS": ("\n20", "20.", "20 ."), "INSTANCE_STOPS": ("Example 6", "Task:", "任务：")}
AT_TASK = {"ALPACA_STOPS": alpaca.ALPACA_STOPS, "INSTANCE_STOPS": ("\nExample 6", "\n示例 6", "\nTask:", "\n任务：")}
TODAY = {"ALPACA_STOPS": alpaca.ALPACA_STOPS, "INSTANCE_STOPS": self_instruct.INSTANCE_STOPS}
STOP_SETS = (("original", ORIGINAL), ("at Task:", AT_TASK), ("today", TODAY))
MAX_TOKENS = self_instruct.default_params("completions")["instances"].max_tokens
OWNER = {"ALPACA_STOPS": alpaca, "INSTANCE_STOPS": self_instruct}  # the module whose defaults read each


def _next_task(rng_value: int, output_first: bool) -> str:
    """What a base model writes after its examples: the next task, with examples, until it is stopped."""
    if output_first:
        pairs = "".join(f"\nClass label: {lab}\nInput: An invented input {k} that is {lab}." for k, lab in
                        enumerate(("yes", "no", "maybe") * 20))  # fmt: skip
        return f"\n\nTask: Classify an invented comment {rng_value} as yes or no.{pairs}"
    examples = "".join(f"\nExample {k}\nInput: An invented input {k}.\nOutput: An invented answer {k} ({rng_value})."
                       for k in range(1, 40))  # fmt: skip
    return f"\n\nTask: Write an invented task number {rng_value}.{examples}"


def _output(rng_value: int, i: int) -> str:
    if i % 10 == 0:
        return f"The total is below.\n20.50 dollars for two tickets, case {rng_value}. (end)"
    if i % 3 == 0:
        return f"Two tickets cost $20.50 together, case {rng_value}. (end)"
    return f"A helpful answer, case {rng_value}. (end)"


def responder(request: Request) -> Reply | str:
    prompt = request.prompt
    tail = prompt.rstrip()
    rng = rng_for(prompt)
    if tail.endswith("Instruction:") and "###" in prompt:
        first = int(re.findall(r"(\d+)\. Instruction:\s*$", tail)[0])
        blocks = [
            f"{i}. Instruction: {instruction_for(rng)}\n{i}. Input:\n<noinput>\n"
            f"{i}. Output:\n{_output(rng.randint(1, 999), i)}"
            for i in range(first, 21)
        ]
        return "\n###\n".join(blocks).split("Instruction:", 1)[1]
    instances = prompt.endswith("\n") and ("Example 1" in prompt or "Class label:" in prompt)
    if instances and "Example 1" in prompt and rng.random() < 1 / 3:
        return (
            f"Example 1\nInput: Not applicable\nOutput: A short answer {rng.randint(1, 999)}. (end)\n"
            "Example 2\nInput: Saturday\nOutput: Morning: walk the dog\nTask: buy milk\nEvening: read (end)"
            + _next_task(rng.randint(1, 999), output_first=False)
        )
    reply = respond(request)
    text = reply.text if isinstance(reply, Reply) else reply
    if instances and "Example 1" in prompt:  # generative instances: mark whole outputs
        text = re.sub(r"(Output: [^\n]*)", r"\1 (end)", text)
    if instances:
        text += _next_task(rng.randint(1, 999), output_first="Class label:" in prompt)
    return text


def run(n: int, mode: str, stops: dict[str, tuple[str, ...]], profile: str) -> tuple[int, int, int, float]:
    """(tasks, generative outputs, outputs cut, instance completion tokens per task) of one run."""
    for name, value in stops.items():
        setattr(OWNER[name], name, value)
    fake = FakeOpenAIServer(responder, profile=profile, enforce_max_tokens=True)
    with tempfile.TemporaryDirectory() as tmp, fake as server:
        out = Path(tmp) / "run"
        argv = ["generate", "--out", str(out), "--base-url", server.url, "--model", "m", "--seed", "1", "-n", str(n),
                "-q", "--api", "completions", "--mode", mode, "--classify", "rules",
                "--seeds", str(ROOT / "seeds" / "seed_tasks.jsonl")]  # fmt: skip
        result = CliRunner().invoke(cli, argv, env={"OPENAI_API_KEY": None, "OPENAI_BASE_URL": None})
        pool = [json.loads(line) for line in (out / "tasks.jsonl").read_text().splitlines()] if out.exists() else []
        replies = [json.loads(line) for line in (out / "responses.jsonl").read_text().splitlines()]
    spent = sum(r.get("completion_tokens", 0) for r in replies if r.get("step") == "instances" and "text" in r)
    outputs = [i["output"] for t in pool for i in t["instances"] if not t["is_classification"]]
    cut = sum(1 for o in outputs if not o.endswith("(end)"))
    if result.exit_code not in (0, 4, 5):
        raise SystemExit(result.stderr)
    return len(pool), len(outputs), cut, spent / max(len(pool), 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=40)
    parser.add_argument("--mode", choices=("alpaca", "self-instruct"), action="append")
    args = parser.parse_args()
    print(f"instance replies invent a next task after their examples; instances max_tokens {MAX_TOKENS}")
    print(f"{'mode':<14} {'stops':<9} {'server':<22} {'tasks':>6} {'outputs':>8} {'cut':>5} {'inst tok/task':>14}")
    for mode in args.mode or ("alpaca", "self-instruct"):
        for label, stops in STOP_SETS:
            for server, profile in (("names the stop (vLLM)", "vllm"), ("does not (OpenAI)", "openai")):
                tasks, outputs, cut, per_task = run(args.n, mode, stops, profile)
                tokens = f"{per_task:.0f}" if mode == "self-instruct" else "-"
                print(f"{mode:<14} {label:<9} {server:<22} {tasks:>6} {outputs:>8} {cut:>5} {tokens:>14}")


if __name__ == "__main__":
    main()
