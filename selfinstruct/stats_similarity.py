"""ROUGE-L of each instruction to its most similar earlier instruction or seed, exactly and fast enough for
50k-task pools: byte-string LCS bounds every pair, and only the pairs whose bound can win are scored exactly."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from selfinstruct.filters.rouge import NearDuplicateIndex
from selfinstruct.stats_report import SIM_BINS
from selfinstruct.text import rouge_tokens

_CELLS = 8_000_000  # similarity matrix cells computed per block (bounds memory to ~100 MB)
_OWN_BYTES = 224  # the most frequent tokens that keep a byte of their own in the LCS bound


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


def _max_sim_blocks(
    exact: list[str], byte: list[str], start: int, earlier: bool
) -> tuple[list[float | None], list[int]]:
    """Exact best F1 of text i (i >= start) and the index of a text that reaches it, against texts[:i] when
    `earlier`, else against the references texts[:start] only; a block of rows at a time.

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
    partners: list[int] = []
    if not earlier and start == 0:
        return [None] * total, [-1] * total
    if start == 0 and total:
        out.append(None)
        partners.append(-1)
        start = 1
    rows = max(1, _CELLS // max(1, total if earlier else start))
    for s in range(start, total, rows):
        e = min(total, s + rows)
        cols = e - 1 if earlier else start  # with `earlier`, row k (text s+k) may see columns < s+k
        bound = process.cdist(byte[s:e], byte[:cols], scorer=LCSseq.similarity, dtype=dtype, workers=-1)
        f = bound.astype(np.float32)
        f *= 2.0
        f /= np.maximum(lens[s:e, None] + lens[None, :cols], 1.0)
        if earlier:
            f[:, s:cols][np.triu_indices(e - s, 0, cols - s)] = -1.0
        top = f.max(axis=1)
        best = np.zeros(e - s)
        arg = np.full(e - s, -1, dtype=np.int64)

        def rescore(ks: Any, js: Any, s: int = s, best: Any = best, arg: Any = arg) -> None:
            """Exact F1 of rows ks (of this block) against columns js, kept (with the column) when better."""
            if not len(ks):
                return
            lcs = process.cpdist([exact[s + k] for k in ks.tolist()], [exact[j] for j in js.tolist()],
                                 scorer=LCSseq.similarity, dtype=np.int32, workers=-1)  # fmt: skip
            with np.errstate(divide="ignore", invalid="ignore"):  # same operations as rouge_fmeasure
                precision, recall = lcs / lens64[js], lcs / lens64[s + ks]
                score = np.where(lcs > 0, 2 * precision * recall / (precision + recall), 0.0)
            order = np.lexsort((score, ks))  # by row, then score: each row's best pair comes last
            ks, js, score = ks[order], js[order], score[order]
            last = np.r_[ks[1:] != ks[:-1], True]
            ks, js, score = ks[last], js[last], score[last]
            better = score > best[ks]
            best[ks[better]] = score[better]
            arg[ks[better]] = js[better]

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
        partners.extend(arg.tolist())
    return out, partners


def _max_sim_index(texts: Sequence[str], start: int, earlier: bool) -> tuple[list[float | None], list[int]]:
    """NearDuplicateIndex queries at falling thresholds; scores below 0.1 come back as 0.0 (no partner)."""
    index, out, partners = NearDuplicateIndex(), list[float | None](), list[int]()
    index.add_all(texts[:start])
    for text in texts[start:]:
        matches = (index.best_match(text, threshold=t) for t in (0.6, 0.4, 0.3, 0.2, 0.0999)) if len(index) else ()
        match = next((m for m in matches if m is not None), None)
        out.append(match.score if match else 0.0 if len(index) else None)
        partners.append(match.index if match else -1)
        if earlier:
            index.add(text)
    return out, partners


@dataclass
class Similarities:
    """Per instruction: the ROUGE-L F1 to its most similar reference or earlier instruction (None: nothing to
    compare with) and that text's index in references + instructions (-1: none above 0)."""

    scores: list[float | None]
    partners: list[int]
    exact: bool  # False: scores below 0.1 are 0.0 and only their bin is right


def max_similarities(
    instructions: Sequence[str], references: Sequence[str] = (), *, earlier: bool = True, exact: bool | None = None
) -> Similarities:
    """For each instruction, the most similar text among `references` and (when `earlier`) the instructions
    before it. Exact unless `exact` is False or the vocabulary overflows the code points."""
    texts = [*references, *instructions]
    codes = _encode_all(texts) if exact is not False else None
    if codes is not None:
        return Similarities(*_max_sim_blocks(*codes, len(references), earlier), True)
    return Similarities(*_max_sim_index(texts, len(references), earlier), False)
