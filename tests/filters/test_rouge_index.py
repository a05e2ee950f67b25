"""The fast index must decide exactly as plain LCS / rouge-score does."""

from __future__ import annotations

import random

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from rouge_score import rouge_scorer

from selfinstruct.filters import rouge_candidates, rouge_join, rouge_keys, rouge_resolve, rouge_signatures
from selfinstruct.filters.rouge import NearDuplicateIndex
from selfinstruct.filters.rouge_math import lcs_length, rouge_fmeasure
from selfinstruct.text import rouge_tokens

SCORER = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=False)

# A tiny vocabulary makes collisions, repeats and near-duplicates common.
words = st.sampled_from(["a", "the", "write", "poem", "sea", "list", "three", "tips", "x", "y"])
instruction = st.lists(words, min_size=0, max_size=14).map(" ".join)


def brute_force_best(kept: list[str], candidate: str) -> tuple[float, int]:
    best, best_i = 0.0, -1
    c = rouge_tokens(candidate)
    for i, k in enumerate(kept):
        kt = rouge_tokens(k)
        score = rouge_fmeasure(lcs_length(c, kt), len(c), len(kt))
        if score > best:
            best, best_i = score, i
    return best, best_i


@settings(max_examples=300, deadline=None)
@given(
    st.lists(instruction, min_size=1, max_size=40),
    st.sampled_from([0.0, 0.3, 0.5, 0.6, 2 / 3, 0.7, 0.75, 0.8, 1.0]),
)
def test_index_agrees_with_plain_lcs(texts: list[str], threshold: float) -> None:
    index = NearDuplicateIndex(threshold)
    kept: list[str] = []
    for text in texts:
        best, best_i = brute_force_best(kept, text)
        match = index.best_match(text)
        if best > threshold:
            assert match is not None
            assert match.score == best
            assert match.index == best_i
        else:
            assert match is None
            index.add(text)
            kept.append(text)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(instruction, min_size=1, max_size=60),
    instruction,
    st.sampled_from([0.3, 0.5, 0.7, 0.8]),
    st.sampled_from([None, 0.0, 0.5, 0.7]),
    st.integers(0, 70),
    st.integers(0, 70),
)
def test_a_search_within_a_window_is_the_full_search_cut_to_it(
    indexed: list[str], query: str, built: float, asked: float | None, since: int, limit: int
) -> None:
    """`since` and `limit` cut each postings list to the window (by bisection): the same matches as the whole
    search restricted to the window, at the index's threshold and at a lower one (full postings), also after the
    prefixes were rebuilt (every fourfold growth re-ranks the tokens)."""
    index = NearDuplicateIndex(built)
    for text in indexed:
        index.add(text)
    t = built if asked is None else asked
    whole = [m for m in index.matches(query, asked) if since <= m.index < limit]
    assert index.matches(query, asked, since=since, limit=limit) == whole
    q = rouge_tokens(query)
    brute = []
    for i, text in enumerate(indexed[since:limit], start=since):
        d = rouge_tokens(text)
        score = rouge_fmeasure(lcs_length(q, d), len(q), len(d))
        if score > t:
            brute.append((i, score))
    assert sorted((m.index, m.score) for m in whole) == sorted(brute)
    best = index.best_match(query, asked, since=since, limit=limit)
    assert best == (whole[0] if whole else None)


@settings(max_examples=400, deadline=None)
@given(
    st.lists(instruction, min_size=0, max_size=12),
    st.lists(instruction, min_size=0, max_size=60),
    st.sampled_from([0.0, 0.3, 0.5, 0.6, 2 / 3, 0.7, 0.75, 0.8, 1.0]),
    st.integers(1, 70),
    st.booleans(),
)
def test_add_unique_agrees_with_plain_lcs(
    reference: list[str], texts: list[str], threshold: float, block: int, join: bool
) -> None:
    """Blocks (of any size, straddling rebuilds of the prefix index) and the batch join decide exactly as the
    one-by-one greedy loop; repeats and texts without tokens included."""
    index = NearDuplicateIndex(threshold)
    index.add_all(reference)
    kept = list(reference)
    got = index.add_unique(texts, block=block, join=join)
    assert len(got) == len(texts)
    for text, match in zip(texts, got, strict=True):
        best, best_i = brute_force_best(kept, text)
        if best > threshold:
            assert match is not None
            assert (match.score, match.index, match.instruction) == (best, best_i, kept[best_i])
        else:
            assert match is None
            kept.append(text)
    assert index.instructions == kept


def test_add_unique_across_prefix_rebuilds_with_realistic_text() -> None:
    """Thousands of generated instructions (the index re-ranks its tokens at 256 and 1024), in blocks and one by
    one: the same decisions and the same matches."""
    from benchmarks.instruction_gen import BenchDataMissing, generate_instructions

    try:
        texts = generate_instructions(2500, dup_share=0.3, seed=7)  # real ShareGPT instructions (the bench extra)
    except BenchDataMissing as exc:
        pytest.skip(str(exc))
    one_by_one = NearDuplicateIndex()
    expected = []
    for text in texts:
        match = one_by_one.best_match(text)
        if match is None:
            one_by_one.add(text)
        expected.append(match)
    for block in (1, 7, 64, 512):
        index = NearDuplicateIndex(workers=2)
        assert index.add_unique(texts, block=block, join=False) == expected
    assert NearDuplicateIndex().add_unique(texts, join=True) == expected
    assert 0 < sum(m is not None for m in expected) < len(texts)


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**32 - 1), st.sampled_from([0.5, 0.6, 0.7, 0.8]))
def test_similar_pairs_are_every_pair_above_the_threshold(seed: int, threshold: float) -> None:
    """Hundreds of texts over a Zipf-like vocabulary, so that common words take every signature level (alone,
    with one and with two more elements) and short texts take the fallbacks: exactly the brute-force pairs."""
    rng = random.Random(seed)
    vocab = [f"w{k}" for k in range(60)]
    weights = [1 / (k + 1) for k in range(60)]
    texts = [" ".join(rng.choices(vocab, weights, k=rng.randint(0, 14))) for _ in range(300)]
    texts += [" ".join(rng.sample(t.split(), len(t.split()))) for t in texts[:40]]  # reordered copies
    idx = NearDuplicateIndex()
    codes = [idx._encode(t, assign=True) for t in texts]
    first_new = rng.randint(0, len(codes))
    a, b, scores = rouge_join.similar_pairs(codes, threshold, first_new=first_new)
    got = sorted(zip(a.tolist(), b.tolist(), scores.tolist(), strict=True))
    assert got == _brute_pairs(texts, threshold, first_new)


def _brute_pairs(texts: list[str], threshold: float, first_new: int) -> list[tuple[int, int, float]]:
    """Every pair (i, j), i < j, j >= first_new, above the threshold: rouge-score's formula on plain LCS."""
    tokens = [rouge_tokens(t) for t in texts]
    expected = []
    for j in range(max(1, first_new), len(texts)):
        for i in range(j):
            score = rouge_fmeasure(lcs_length(tokens[j], tokens[i]), len(tokens[j]), len(tokens[i]))
            if score > threshold:
                expected.append((i, j, score))
    return sorted(expected)


# Key layouts of the join's indexed side (_KEY_BITS, _MIN_SIG_BITS, _POS_BITS, _SEEN_BITS, _DIR_BITS): the
# default, and narrow ones for 340 texts (9 bits of text number) where signatures fold into 6 bits (constant
# collisions), lengths clamp at 3 (or 1) and positions at 1 (or 0), the bitmap of present signatures is one
# byte, and the directory has 2 to 64 buckets (large buckets take the binary search).
LAYOUTS = [(62, 24, 4, 27, 22), (18, 6, 1, 27, 1), (16, 6, 0, 3, 2), (17, 5, 1, 4, 6)]


@pytest.mark.parametrize("layout", LAYOUTS)
@settings(max_examples=15, deadline=None)
@given(st.integers(0, 2**32 - 1), st.sampled_from([0.3, 0.5, 0.7, 0.75, 0.9]))
def test_similar_pairs_exact_under_any_key_layout(
    layout: tuple[int, int, int, int, int], seed: int, threshold: float
) -> None:
    """Folded signatures, clamped lengths and positions and a saturated bitmap only admit extra candidates: the
    pairs stay exactly the brute-force ones, in any number of threads, for CJK, repeated tokens, texts of 0 to 3
    tokens and up to 40."""
    rng = random.Random(seed)
    vocab = [f"w{k}" for k in range(50)] + list("山水人大小中天日月")
    weights = [1 / (k + 1) for k in range(len(vocab))]
    texts = []
    for _ in range(300):
        size = rng.choice([rng.randint(0, 3), rng.randint(4, 14), rng.randint(15, 40)])
        texts.append(" ".join(rng.choices(vocab, weights, k=size)))
    texts += [" ".join([rng.choice(vocab)] * rng.randint(1, 12)) for _ in range(10)]  # one token repeated
    texts += [" ".join(rng.sample(t.split(), len(t.split()))) for t in texts[:30]]  # reordered copies
    assert len(texts) == 340
    idx = NearDuplicateIndex()
    codes = [idx._encode(t, assign=True) for t in texts]
    first_new = rng.randint(0, len(codes))
    with pytest.MonkeyPatch.context() as mp:
        key_bits, min_sig_bits, pos_bits, seen_bits, dir_bits = layout
        for name, value in (
            ("_KEY_BITS", key_bits),
            ("_MIN_SIG_BITS", min_sig_bits),
            ("_POS_BITS", pos_bits),
            ("_DIR_BITS", dir_bits),
        ):
            mp.setattr(rouge_keys, name, value)
        mp.setattr(rouge_join, "_SEEN_BITS", seen_bits)
        # Blocks of a few keys for the bitmap of present signatures (runs of one byte span blocks), a few
        # probes per search batch, chunks of a few texts whose probes are searched a few dozen at a time, in
        # 2 to 16 parts of the keys, and a few candidate tuples expanded at once.
        mp.setattr(rouge_join, "_SEEN_BLOCK", 5)
        mp.setattr(rouge_keys, "_BATCH", 3)
        mp.setattr(rouge_join, "_CHUNK_DOCS", 16)
        mp.setattr(rouge_join, "_GROUP_PROBES", 40)
        mp.setattr(rouge_keys, "_PART_BITS", 1 + seed % 4)
        mp.setattr(rouge_candidates, "_CHUNK_TUPLES", 7)
        # 22 chunks: probed by 1, 2 or 3 threads
        a, b, scores = rouge_join.similar_pairs(codes, threshold, first_new=first_new, workers=1 + seed % 3)
    got = sorted(zip(a.tolist(), b.tolist(), scores.tolist(), strict=True))
    assert got == _brute_pairs(texts, threshold, first_new)


# Signature levels and pair tables for 300 texts (_LEVEL_DF, _PAIR_DF, _PAIR_BITS): elements in over 3 texts
# are matched in pairs and those in over 10 may be triples, with every such pair a triple (0), none (10**9), or
# the pairs of a table so small (2 to 16 buckets) that rare pairs share buckets with common ones.
PAIR_RULES = [((3, 10), 0, 22), ((3, 10), 10**9, 22), ((3, 10), 4, 1), ((2, 2), 2, 4), ((1, 30), 8, 3)]


@pytest.mark.parametrize("rule", PAIR_RULES)
@settings(max_examples=12, deadline=None)
@given(st.integers(0, 2**32 - 1), st.sampled_from([0.5, 0.6, 0.7, 0.8]))
def test_similar_pairs_exact_whichever_pairs_are_triples(
    rule: tuple[tuple[int, int], int, int], seed: int, threshold: float
) -> None:
    """Both texts of a pair read one table of common pairs, so whichever pairs it marks (all, none, rare ones
    colliding with common ones in a tiny table), matching a marked pair by triples finds every pair: exactly
    the brute-force pairs, over a Zipf-like vocabulary where most texts are common words only."""
    rng = random.Random(seed)
    vocab = [f"w{k}" for k in range(40)]
    weights = [1 / (k + 1) ** 1.3 for k in range(40)]
    texts = [" ".join(rng.choices(vocab, weights, k=rng.randint(0, 24))) for _ in range(260)]
    texts += [" ".join(rng.sample(t.split(), len(t.split()))) for t in texts[:40]]  # reordered copies
    idx = NearDuplicateIndex()
    codes = [idx._encode(t, assign=True) for t in texts]
    first_new = rng.randint(0, len(codes))
    level_df, pair_df, pair_bits = rule
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(rouge_join, "_LEVEL_DF", level_df)
        mp.setattr(rouge_join, "_PAIR_DF", pair_df)
        mp.setattr(rouge_join, "_PAIR_BITS", pair_bits)
        a, b, scores = rouge_join.similar_pairs(codes, threshold, first_new=first_new)
    got = sorted(zip(a.tolist(), b.tolist(), scores.tolist(), strict=True))
    assert got == _brute_pairs(texts, threshold, first_new)


def test_pair_table_counts_the_pairs_of_the_indexed_texts() -> None:
    """PairTable counts, per bucket of pair hashes, the (first, second) pairs whose first element may start a
    triple, over the texts added (in any number of calls); frequent(k) marks the buckets counted over k."""
    texts = ["a b c d e f", "a b c d e g", "a b x y z w", "c d q r s t"] * 3
    index = NearDuplicateIndex()
    el = rouge_signatures.Elements([index._encode(t, assign=True) for t in texts])
    prefix = np.arange(8, dtype=np.int64)  # each text's whole 6 elements
    whole = rouge_signatures.PairTable(20)
    whole.add(el, np.arange(12, dtype=np.int64), prefix, (0, 0))  # every element may start a triple
    split = rouge_signatures.PairTable(20)
    for part in (np.arange(0, 5), np.arange(5, 12)):
        split.add(el, part.astype(np.int64), prefix, (0, 0))
    assert whole.counts().tolist() == split.counts().tolist()
    # Each text's pairs: an element and each later one within the prefix plus one (all 6 here): 15 per text.
    assert int(whole.counts().sum()) == 12 * 15
    # "a b" and "c d" are pairs of 9 texts each; every other pair of fewer.
    assert sorted(whole.counts().tolist())[-3:] == [6, 9, 9]
    assert whole.frequent(8).sum() == 2 and not whole.frequent(9).any()
    # First elements ranked from 10 on only (e in 6 texts; a, b, c, d in 9; the 10 others in 3 start none):
    # e with each of a, b, c, d in 6 texts, the 6 pairs of a, b, c, d in 6, "a b" in 3 more and "c d" in 3 more.
    common = rouge_signatures.PairTable(20)
    common.add(el, np.arange(12, dtype=np.int64), prefix, (0, 10))
    assert int(common.counts().sum()) == 4 * 6 + 6 * 6 + 3 + 3


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_signatures_are_counted_before_they_are_made(seed: int) -> None:
    """The join sizes its key array from _Signatures.count before making the signatures into it: the count is
    exactly what _Signatures makes, for any levels, pairs marked as triples and prefixes (0 to the whole text),
    repeats and short texts."""
    rng = random.Random(seed)
    vocab = [f"w{k}" for k in range(30)]
    weights = [1 / (k + 1) for k in range(30)]
    texts = [
        " ".join(rng.choices(vocab, weights, k=rng.choice([rng.randint(0, 3), rng.randint(4, 25)]))) for _ in range(80)
    ]
    idx = NearDuplicateIndex()
    el = rouge_signatures.Elements([idx._encode(t, assign=True) for t in texts])
    r1 = rng.randint(0, el.n_elements)
    levels = (r1, rng.randint(r1, el.n_elements))
    max_len = int(el.lens.max())
    prefix = np.array([rng.randint(0, length) for length in range(max_len + 1)], dtype=np.int64)
    docs = np.array(sorted(rng.sample(range(len(texts)), rng.randint(0, len(texts)))), dtype=np.int64)
    # Which pairs go on to triples: all (None), or the marked buckets of a table of 1 to 64 buckets.
    frequent = rng.choice([None, np.array([rng.random() < 0.5 for _ in range(2 ** rng.randint(0, 6))])])
    made = rouge_signatures.Signatures(el, docs, prefix, levels, frequent)
    assert rouge_signatures.Signatures.count(el, docs, prefix, levels, frequent) == len(made.sig) == len(made.doc)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.integers(0, 255), max_size=200),
    st.lists(st.tuples(st.integers(0, 256), st.integers(0, 40)), max_size=60),
    st.integers(1, 10),
    st.sampled_from([1, 2, 3, 8]),
)
@example(keys=[5] * 4, needles=[(0, 40)], sig_bits=8, dir_bits=1)  # steps reach the last key, then nothing to search
def test_key_search_is_searchsorted(
    keys: list[int], needles: list[tuple[int, int]], sig_bits: int, dir_bits: int
) -> None:
    """The directory search finds np.searchsorted's left insertion points for range starts and ends: keys of
    8 bits in 2 to 256 buckets, long runs of one key (large buckets take the binary search), needles in no
    bucket, up to 2**8 (the end of the last signature's range), ranges past the last key, and no keys at all."""
    sorted_keys = np.array(sorted(keys), dtype=np.int64)
    starts = np.array([n for n, _ in needles], dtype=np.int64)
    ends = np.minimum(starts + np.array([w for _, w in needles], dtype=np.int64), 256)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(rouge_keys, "_KEY_BITS", 8)
        mp.setattr(rouge_keys, "_DIR_BITS", dir_bits)
        search = rouge_keys.KeySearch(sorted_keys, sig_bits)
        lo = search.lower_bound(starts)
        hi = search.range_ends(lo, ends)
        mp.setattr(rouge_keys, "_BATCH", 7)  # several batches of probes
        batched = search.ranges(starts, ends)
        mp.setattr(rouge_keys, "_PART_BITS", 3)
        in_parts = search.by_part(starts[starts < 256])
    assert lo.tolist() == np.searchsorted(sorted_keys, starts, "left").tolist()
    # by_part: a stable order of the range starts by their top 3 of 8 bits (their part of the keys).
    part_of = (starts[starts < 256] >> 5).tolist()
    assert in_parts.tolist() == sorted(range(len(part_of)), key=part_of.__getitem__)
    assert hi.tolist() == np.searchsorted(sorted_keys, ends, "left").tolist()
    assert batched[0].tolist() == lo.tolist() and batched[1].tolist() == hi.tolist()


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 3), st.integers(0, 9), st.integers(0, 40), st.integers(0, 20)), max_size=80),
    st.tuples(st.integers(0, 3), st.integers(0, 9), st.integers(0, 9), st.integers(0, 41)),
)
def test_a_range_ends_before_a_text_of_its_length(
    entries: list[tuple[int, int, int, int]], probe: tuple[int, int, int, int]
) -> None:
    """Keys sort by signature, length, text, position, so the range from a signature's length n_lo up to
    `before(field, n, doc)` holds exactly its keys of lengths n_lo .. n - 1 and those of length n whose text
    is numbered below doc: the join's probes so meet each pair of equal lengths once and never themselves."""
    from types import SimpleNamespace

    layout = rouge_keys.KeyLayout(41, 9)  # 6 bits of text, 4 of length (up to 15), positions clamped at 15
    sig, n, pos, doc = np.array(entries, dtype=np.int64).reshape(-1, 4).T
    keys = np.sort(layout.keys(SimpleNamespace(sig=sig, n=n, pos=pos, doc=doc)))
    f, n_lo, n_end, d = probe
    field = layout.field(np.array([f], dtype=np.int64))
    start = layout.probe(field, np.array([n_lo], dtype=np.int64))
    end = layout.before(field, np.array([n_end], dtype=np.int64), np.array([d], dtype=np.int64))
    got = keys[int(np.searchsorted(keys, start[0])) : int(np.searchsorted(keys, end[0]))]
    expected = [
        (s, m, q, t) for s, m, q, t in entries if s == f and n_lo <= m and (m < n_end or (m == n_end and t < d))
    ]
    assert sorted((int(layout.doc(got)[i]), int(got[i] & layout.pos_max)) for i in range(len(got))) == sorted(
        (t, min(q, layout.pos_max)) for _, _, q, t in expected
    )


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 30), st.integers(0, 30), st.sampled_from([0.71, 0.75, 0.8, 0.9, 1.0])), max_size=60
    ),
    st.sampled_from([63, 8]),
)
def test_partners_come_best_first_then_earliest(pairs: list[tuple[int, int, float]], key_bits: int) -> None:
    """The greedy decisions read each text's partners by F1 from the best, ties to the earliest partner: one
    sort of packed keys orders them exactly as a lexsort of (text, -F1, partner), and so does the lexsort
    itself when the keys would not fit (8 bits here); equal F1s many times over, and no pairs at all."""
    a = np.array([min(i, j) for i, j, _ in pairs if i != j], dtype=np.int64)
    b = np.array([max(i, j) for i, j, _ in pairs if i != j], dtype=np.int64)
    scores = np.array([f for i, j, f in pairs if i != j], dtype=np.float64)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(rouge_resolve, "_KEY_BITS", key_bits)
        src, dst, score = rouge_resolve.partners_in_order(31, a, b, scores)
    both = [(x, -f, y) for x, y, f in zip(a.tolist(), b.tolist(), scores.tolist(), strict=True)]
    both += [(y, -f, x) for x, y, f in zip(a.tolist(), b.tolist(), scores.tolist(), strict=True)]
    assert list(zip(src.tolist(), (-score).tolist(), dst.tolist(), strict=True)) == sorted(both)


def test_join_falls_back_when_the_key_layout_cannot_fit() -> None:
    """Too many texts for a key's bits is an OverflowError from the join, and add_unique then decides block by
    block: the same decisions."""
    texts = [f"Write a short story about a {w} and a {v}." for w in ("cat", "dog", "fox") for v in ("owl", "bee")]
    expected = NearDuplicateIndex().add_unique(texts, join=False)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(rouge_keys, "_KEY_BITS", 20)
        with pytest.raises(OverflowError):
            rouge_join.similar_pairs([NearDuplicateIndex()._encode(t, assign=True) for t in texts], 0.7)
        assert NearDuplicateIndex().add_unique(texts, join=True) == expected


def test_join_reports_progress_and_keeps_the_index_usable() -> None:
    """The batch join counts every instruction in progress; afterwards the prefix postings are rebuilt on the
    next probe, so one-at-a-time use goes on with the same answers."""
    texts = [f"Write a short story about a {w} and a {v}." for w in ("cat", "dog", "fox") for v in ("owl", "bee")]
    texts += ["Write a short story about a cat and an owl.", "", "???", "Summarize the article in one line."]
    index = NearDuplicateIndex()
    reported: list[int] = []
    got = index.add_unique(texts, join=True, progress=reported.append)
    assert sum(reported) == len(texts)
    assert got[6] is not None and got[6].instruction == texts[0]
    assert got[7] is None and got[8] is None  # no tokens: F1 0 against everything, so kept
    assert index.best_match("Write a short story about a fox and a bee!") is not None
    assert index.add("Explain photosynthesis to a child.") == len(index) - 1
    assert index.best_match("Explain photosynthesis to a small child.") is not None


@pytest.mark.parametrize("group", [rouge_join._GROUP_PROBES, 5000])
def test_the_join_finds_the_same_pairs_in_any_number_of_threads(monkeypatch: pytest.MonkeyPatch, group: int) -> None:
    """40,000 texts over a Zipf-like vocabulary with reordered and edited copies, probed by 1, 2 and 3 threads
    (each taking the next chunk as it goes), with the probes searched in one group or many: the same pairs and
    F1s, and progress counts every probed text once."""
    monkeypatch.setattr(rouge_join, "_GROUP_PROBES", group)
    rng = random.Random(11)
    vocab = [f"w{k}" for k in range(3000)]
    weights = [1 / (k + 1) for k in range(3000)]
    texts = [" ".join(rng.choices(vocab, weights, k=rng.randint(4, 20))) for _ in range(36_000)]
    for t in rng.sample(texts, 4_000):
        words = t.split()
        words[rng.randrange(len(words))] = rng.choice(vocab)
        texts.append(" ".join(rng.sample(words, len(words)) if rng.random() < 0.3 else words))
    idx = NearDuplicateIndex()
    codes = [idx._encode(t, assign=True) for t in texts]
    assert rouge_candidates.threads_for(len(codes), 8192, -1) >= 1
    assert rouge_candidates.threads_for(len(codes), 8192, 3) == 3
    assert rouge_candidates.threads_for(8192 * 3, 8192, 3) == 1  # a few chunks are not shared out
    results = []
    for workers in (1, 2, 3):
        reported: list[int] = []
        a, b, scores = rouge_join.similar_pairs(codes, 0.7, first_new=5, workers=workers, progress=reported.append)
        assert sum(reported) == len(codes) - 5
        results.append((a.tolist(), b.tolist(), scores.tolist()))
    assert results[0] == results[1] == results[2]
    assert len(results[0][0]) > 1000


def test_a_failing_thread_stops_the_others_after_their_chunk(monkeypatch: pytest.MonkeyPatch) -> None:
    """An error in one thread of the join (here the progress callback's) reaches the caller, and the other
    threads take no new chunk: of 160 chunks, only the few in hand when it failed are probed."""
    monkeypatch.setattr(rouge_join, "_CHUNK_DOCS", 64)
    monkeypatch.setattr(rouge_join, "_GROUP_PROBES", 1)  # every chunk searched (and reported) on its own
    rng = random.Random(3)
    vocab = [f"w{k}" for k in range(500)]
    idx = NearDuplicateIndex()
    codes = [idx._encode(" ".join(rng.choices(vocab, k=rng.randint(4, 12))), assign=True) for _ in range(64 * 160)]
    calls: list[int] = []

    def failing(k: int) -> None:  # fails once; the other thread's calls succeed
        calls.append(k)
        if len(calls) == 1:
            raise RuntimeError("progress failed")

    with pytest.raises(RuntimeError, match="progress failed"):
        rouge_join.similar_pairs(codes, 0.7, workers=2, progress=failing)
    assert 1 <= len(calls) <= 4


def test_add_unique_rejects_a_bad_block() -> None:
    with pytest.raises(ValueError):
        NearDuplicateIndex().add_unique(["a b c d"], block=0)


@settings(max_examples=100, deadline=None)
@given(st.lists(instruction, min_size=1, max_size=30), instruction, st.integers(1, 12))
def test_most_similar_is_exact_top_k(pool: list[str], query: str, k: int) -> None:
    index = NearDuplicateIndex()
    index.add_all(pool)
    got = index.most_similar(query, k)
    q = rouge_tokens(query)
    expected = sorted(
        (
            (rouge_fmeasure(lcs_length(q, rouge_tokens(p)), len(q), len(rouge_tokens(p))), -i)
            for i, p in enumerate(pool)
        ),
        reverse=True,
    )
    expected = [e for e in expected if e[0] > 0][:k]
    assert [(m.score, -m.index) for m in got] == expected


@settings(max_examples=80, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 12), st.booleans())
def test_most_similar_is_exact_top_k_on_large_pools(seed: int, k: int, zipf: bool) -> None:
    """Hundreds of documents share a token with the query, so the bounds, not a full scan, pick the candidates:
    ties at the k-th score, repeated tokens and lengths of every kind must still come out exactly. With a
    Zipf-like vocabulary a few words are in most documents, as on real text."""
    rng = random.Random(seed)
    vocab = ["a", "the", "write", "poem", "sea", "list", "three", "tips", "x", "y", "z", "w"]
    if zipf:
        vocab += [f"w{i}" for i in range(150)]
    weights = [1.0 / (rank + 1) for rank in range(len(vocab))]
    pool = [" ".join(rng.choices(vocab, weights, k=rng.randint(1, 16))) for _ in range(rng.randint(50, 400))]
    index = NearDuplicateIndex()
    index.add_all(pool)
    tokens = [rouge_tokens(p) for p in pool]
    for _ in range(8):
        query = " ".join(rng.choices(vocab, weights, k=rng.randint(1, 16)))
        q = rouge_tokens(query)
        expected = sorted(
            ((rouge_fmeasure(lcs_length(q, t), len(q), len(t)), -i) for i, t in enumerate(tokens)), reverse=True
        )
        expected = [e for e in expected if e[0] > 0][:k]
        assert [(m.score, -m.index) for m in index.most_similar(query, k)] == expected


@pytest.mark.parametrize("seed", range(4))
def test_most_similar_is_exact_with_repeated_words_in_a_growing_index(seed: int) -> None:
    """Long documents repeat the same common words, so hundreds of them have bounds above the 10th best score
    and are scored in several bands; the postings of repeated words (the k-th "the") are kept up as documents
    are added after the first search. Every top-10 must equal brute force."""
    rng = random.Random(seed)
    rare = [f"r{i}" for i in range(120)]

    def text() -> str:
        words = [*rng.choices(["the", "a", "of", "to"], k=rng.randint(2, 12)), *rng.sample(rare, rng.randint(0, 6))]
        rng.shuffle(words)
        return " ".join(words)

    index = NearDuplicateIndex()
    tokens: list[list[str]] = []
    for _ in range(3):
        pool = [text() for _ in range(700)]
        index.add_all(pool)
        tokens += [rouge_tokens(p) for p in pool]
        for _ in range(10):
            query = text()
            q = rouge_tokens(query)
            expected = sorted(
                ((rouge_fmeasure(lcs_length(q, t), len(q), len(t)), -i) for i, t in enumerate(tokens)), reverse=True
            )[:10]
            assert [(m.score, -m.index) for m in index.most_similar(query, 10)] == expected


def test_fmeasure_formula_matches_rouge_score_exactly() -> None:
    rng = random.Random(0)
    vocab = ["a", "b", "c", "d", "e", "f", "g"]
    for _ in range(2000):
        a = " ".join(rng.choices(vocab, k=rng.randint(1, 12)))
        b = " ".join(rng.choices(vocab, k=rng.randint(1, 12)))
        ta, tb = rouge_tokens(a), rouge_tokens(b)
        ours = rouge_fmeasure(lcs_length(ta, tb), len(ta), len(tb))
        assert ours == SCORER.score(a, b)["rougeL"].fmeasure
        assert ours == SCORER.score(b, a)["rougeL"].fmeasure


def test_greedy_decisions_equal_rouge_score_on_original_seeds(original_seeds) -> None:  # type: ignore[no-untyped-def]
    import json

    texts = [json.loads(line)["instruction"] for line in original_seeds.open()]
    # Add near-duplicates so both outcomes occur.
    texts += [t.replace("the", "a", 1) for t in texts[:60]] + [t + " Be brief." for t in texts[60:90]]
    index = NearDuplicateIndex(0.7)
    kept: list[str] = []
    for text in texts:
        brute = any(SCORER.score(k, text)["rougeL"].fmeasure > 0.7 for k in kept)
        fast = index.best_match(text) is not None
        assert brute == fast, text
        if not fast:
            index.add(text)
            kept.append(text)
    # The original set itself holds two near-duplicate pairs.
    assert 170 <= len(kept) < len(texts)


def test_chinese_near_duplicates_are_found() -> None:
    index = NearDuplicateIndex(0.7)
    index.add("请写一首关于秋天的诗。")
    match = index.best_match("请写一首关于秋天的短诗。")
    assert match is not None and match.score > 0.9
    assert index.best_match("解释一下光合作用的原理。") is None


def test_threshold_is_validated() -> None:
    with pytest.raises(ValueError):
        NearDuplicateIndex(1.5)


def test_empty_and_unseen_tokens() -> None:
    index = NearDuplicateIndex()
    assert index.best_match("anything at all") is None
    index.add("!!!")
    assert index.best_match("...") is None
    index.add("alpha beta gamma")
    assert index.best_match("delta epsilon zeta") is None
    assert index.most_similar("delta", 5) == []
