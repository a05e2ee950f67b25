"""Benchmark: how many of the instances and tasks written into replies the parsers give back, ours against the
original scripts' rules (tests/methods/original_parsers.py), on replies in the shapes issue 21 is about.

Replies are rendered from known instances (seeded): inputs under field names ("Sentence:", "句子："), chat
markdown, outputs and Alpaca fields that hold label lines ("Output: 5", "Input: [3, 9, 2]", "Instruction:
..."), and the original layouts with plain content. For each corpus it prints the written instances, the share
each parser gives back exactly (whitespace collapsed), the instances ours gives back that were never written,
and ours' parsing time per reply.

    python benchmarks/bench_parsers.py              # 2,000 replies per corpus
    python benchmarks/bench_parsers.py --replies 200
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from selfinstruct.methods.alpaca.parsing import parse_alpaca_batch  # noqa: E402
from selfinstruct.methods.self_instruct.instance_parsing import parse_input_first  # noqa: E402
from selfinstruct.methods.self_instruct.output_first import parse_output_first  # noqa: E402
from selfinstruct.methods.self_instruct.parsing import normalize_whitespace  # noqa: E402
from tests.methods.original_parsers import (  # noqa: E402
    original_alpaca_items,
    original_classification_instances,
    original_generation_instances,
)

WORDS = ["the", "river", "runs", "past", "old", "mill", "two", "cups", "of", "rice", "quick", "fox", "sells"]
WORDS += ["blue", "shoes", "on", "Monday", "price", "is", "12"]
LABEL_LINES = ["Output: 5", "Input: [3, 9, 2]", "Instruction: finish the report by Friday", "输出：五"]
Fields = tuple[str, ...]


def line(rng: random.Random, labels: bool) -> str:
    if labels and rng.random() < 0.3:
        return rng.choice(LABEL_LINES)
    text = " ".join(rng.choices(WORDS, k=rng.randint(2, 8)))
    return text[0].upper() + text[1:] + "."


def text(rng: random.Random, labels: bool, most: int = 3) -> str:
    return "\n".join(line(rng, labels) for _ in range(rng.randint(1, most)))


def generation(rng: random.Random, labels: bool, chat: bool) -> tuple[str, list[Fields]]:
    name = rng.choice(["Sentence", "Paragraph", "Input", "句子"])
    written: list[Fields] = []
    parts: list[str] = []
    for n in range(1, rng.randint(2, 5) + 1):
        inp, out = text(rng, False), text(rng, labels)
        written.append((inp if name == "Input" else f"{name}: {inp}", out))
        if chat:
            parts.append(f"**Example {n}**\n**{name}:** {inp}\n**Output:** {out}\n")
        else:
            parts.append(f"Example {n}\n{name}: {inp}\nOutput: {out}")
    return ("Sure! Here are some examples:\n\n" if chat else "") + "\n".join(parts), written


def classification(rng: random.Random, labels: bool, chat: bool) -> tuple[str, list[Fields]]:
    name = rng.choice(["Sentence", "Review", "Email"])
    written: list[Fields] = [
        (f"{name}: {text(rng, False)}", label) for label in rng.sample(["Positive", "Negative", "Mixed"], 2)
    ]
    bold = "**" if chat else ""
    return "\n".join(f"{bold}Class label:{bold} {o}\n{i}" for i, o in written), written


def alpaca(rng: random.Random, labels: bool, chat: bool) -> tuple[str, list[Fields]]:
    first = rng.randint(4, 12)
    written: list[Fields] = []
    parts: list[str] = []
    for n in range(first, first + rng.randint(1, 5)):
        item = (f"Write {text(rng, False, 1)}", text(rng, labels) if rng.random() < 0.6 else "", text(rng, labels))
        written.append(item)
        head = " " if n == first else f"###\n{n}. Instruction: "
        parts.append(f"{head}{item[0]}\n{n}. Input:\n{item[1] or '<noinput>'}\n{n}. Output:\n{item[2]}\n")
    return "".join(parts), written


def norm(items: list[Fields]) -> list[Fields]:
    return [tuple(normalize_whitespace(f) for f in item) for item in items]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--replies", type=int, default=2000, help="replies per corpus")
    args = parser.parse_args()

    def ours_gen(r: str) -> list[Fields]:
        return [(i.input, i.output) for i in parse_input_first(r)]

    def ours_clf(r: str) -> list[Fields]:
        return [(i.input, i.output) for i in parse_output_first(r)]

    def ours_alp(r: str) -> list[Fields]:
        return [(i.instruction, i.input, i.output) for i in parse_alpaca_batch(r, continued=True, truncated=False)[0]]

    def orig_gen(r: str) -> list[Fields]:
        return [(i.input, i.output) for i in original_generation_instances(r)]

    def orig_clf(r: str) -> list[Fields]:
        return [(i.input, i.output) for i in original_classification_instances(r)]

    def orig_alp(r: str) -> list[Fields]:
        first = int(r.split(". Input:", 1)[0].rsplit("\n", 1)[-1])
        return list(original_alpaca_items(r, first_number=first))

    corpora = [
        ("input-first, plain content", generation, ours_gen, orig_gen, False, False),
        ("input-first, label lines in outputs", generation, ours_gen, orig_gen, True, False),
        ("input-first, chat markdown", generation, ours_gen, orig_gen, False, True),
        ("classification, field names", classification, ours_clf, orig_clf, False, False),
        ("classification, chat markdown", classification, ours_clf, orig_clf, False, True),
        ("Alpaca, plain content", alpaca, ours_alp, orig_alp, False, False),
        ("Alpaca, label lines in fields", alpaca, ours_alp, orig_alp, True, False),
    ]
    print(f"{'corpus':<38} {'written':>8} {'original':>9} {'ours':>7} {'ours extra':>10} {'µs/reply':>9}")
    for name, render, ours, original, labels, chat in corpora:
        rng = random.Random(21)
        written = found_orig = found_ours = extra = 0
        elapsed = 0.0
        for _ in range(args.replies):
            reply, truth = render(rng, labels, chat)
            truth_n = norm(truth)
            start = time.perf_counter()
            got = norm(ours(reply))
            elapsed += time.perf_counter() - start
            orig = norm(original(reply))
            written += len(truth_n)
            found_ours += sum(t in got for t in truth_n)
            found_orig += sum(t in orig for t in truth_n)
            extra += sum(g not in truth_n for g in got)
        share = f"{found_orig / written:>8.1%} {found_ours / written:>7.1%}"
        print(f"{name:<38} {written:>8} {share} {extra:>10} {elapsed / args.replies * 1e6:>9.0f}")


if __name__ == "__main__":
    main()
