"""The exact max ROUGE-L of `stats` against the definition, on the cases that stress its shortcuts: pairs that
share no rare token (scored from the frequent tokens' LCS alone), pairs that share rare ones, ties at bin edges
(0.5, 1.0) and across lengths, CJK ideographs, texts without tokens, seeds before the pool."""

from __future__ import annotations

from collections.abc import Sequence

from hypothesis import given, settings
from hypothesis import strategies as st

from selfinstruct.filters.rouge_math import lcs_length, rouge_fmeasure
from selfinstruct.stats.similarity import (
    Similarities,
    _encode_all,
    _max_sim_blocks,
    max_similarities,
    similarities_both_ways,
    similarity_bin,
)
from selfinstruct.text import rouge_tokens

WORDS = ["a", "b", "c", "d", "e", "中", "文", "9"]

texts = st.lists(
    st.one_of(
        st.lists(st.sampled_from(WORDS), min_size=0, max_size=12).map(" ".join),
        st.sampled_from(["", "!!! ???", "a b", "b a", "a b c d", "中文", "A, b."]),
    ),
    min_size=1,
    max_size=25,
)


def brute_force(instructions: Sequence[str], references: Sequence[str], earlier: bool) -> list[float | None]:
    toks = [rouge_tokens(t) for t in [*references, *instructions]]
    out: list[float | None] = []
    for i in range(len(references), len(toks)):
        others = range(i) if earlier else range(len(references))
        scores = [rouge_fmeasure(lcs_length(toks[i], toks[j]), len(toks[i]), len(toks[j])) for j in others]
        out.append(max(scores) if scores else None)
    return out


def similarities(
    instructions: list[str], references: list[str], earlier: bool, own_bytes: int | None, prune: tuple[int, int] | None
) -> Similarities:
    """max_similarities, or its exact path with only the `own_bytes` most frequent tokens compared for every
    pair (the rest are "rare": the pairs sharing them are listed and scored apart), and `prune` = (columns per
    chunk, rare partners scored first as each row's bar) if given."""
    if own_bytes is None and prune is None:
        return max_similarities(instructions, references, earlier=earlier)
    codes = _encode_all([*references, *instructions], 256 if own_bytes is None else own_bytes)
    assert codes is not None
    return Similarities(*_max_sim_blocks(codes, len(references), earlier, *(prune or (512, 16))), True)


def check(
    instructions: list[str],
    references: list[str],
    earlier: bool,
    own_bytes: int | None = None,
    prune: tuple[int, int] | None = None,
) -> None:
    got = similarities(instructions, references, earlier, own_bytes, prune)
    expected = brute_force(instructions, references, earlier)
    assert got.exact and got.scores == expected  # the same floats, not only the same bins
    assert [similarity_bin(s) for s in got.scores if s is not None] == [
        similarity_bin(s) for s in expected if s is not None
    ]
    everything = [rouge_tokens(t) for t in [*references, *instructions]]
    for k, (score, j) in enumerate(zip(got.scores, got.partners, strict=True)):
        row = len(references) + k
        if not score:
            assert j == -1
            continue
        assert 0 <= j < (row if earlier else len(references))
        a, b = everything[row], everything[j]
        assert rouge_fmeasure(lcs_length(a, b), len(a), len(b)) == score  # the partner reaches the score


@settings(max_examples=300, deadline=None)
@given(texts, texts, st.booleans(), st.sampled_from([None, 0, 1, 2, 4]))
def test_equals_brute_force(instructions: list[str], seeds: list[str], earlier: bool, own_bytes: int | None) -> None:
    """Every token frequent (None: the default 256 own bytes, more than these texts have), none (0), or some."""
    check(instructions, seeds, earlier, own_bytes)


@settings(max_examples=300, deadline=None)
@given(texts, texts, st.booleans(), st.sampled_from([None, 0, 1, 2]), st.sampled_from([1, 2, 3, 7]),
       st.sampled_from([0, 1, 2]))  # fmt: skip
def test_pruned_chunks_equal_brute_force(
    instructions: list[str], seeds: list[str], earlier: bool, own_bytes: int | None, chunk: int, guesses: int
) -> None:
    """Chunks of a few columns, each skipped for the rows whose bar (the best of a few rare-sharing partners,
    then raised by each chunk's LCS) it cannot reach: still every best, to the float."""
    check(instructions, seeds, earlier, own_bytes, (chunk, guesses))


def test_ties_at_bin_edges_and_across_lengths() -> None:
    """Scores on bin edges (0.5, 1.0, 0.3, 0.2 as rouge-score's floats), and partners whose F1 is the same
    number but not the same float (2/10 as 0.19999999999999998 from LCS 2 of 2 + 18 tokens, and as 0.2 from
    LCS 1 of 2 + 8): the larger float is the max, as brute force has it."""
    x = [f"x{k}" for k in range(20)]
    pool = [
        "a b c d",
        "a b e f",  # 2 of 4 + 4: 0.5
        "a b c d",  # 1.0
        " ".join(["a", "b", *x[:16]]),  # 18 tokens
        " ".join(["a", *x[:7]]),  # 8 tokens
        " ".join(["p", "q", "r", *x[:8]]),  # 11 tokens
        "p",
        "p q r s",  # 3 of 4 + 11 (0.39999999999999997) and 1 of 4 + 1 (0.4)
    ]
    got = max_similarities(pool)
    assert got.scores == brute_force(pool, [], True)
    assert got.scores[1:3] == [0.5, 1.0]
    assert rouge_fmeasure(3, 4, 11) < rouge_fmeasure(1, 4, 1) == got.scores[-1] == 0.4
    for own_bytes in (None, 0, 1, 3):
        check(pool, [], True, own_bytes)
        for prune in ((1, 0), (1, 1), (2, 16)):  # a bar at exactly the best's F1 still computes that pair
            check(pool, [], True, own_bytes, prune)
    seeds = [" ".join(["a", "b", *x[:16]]), " ".join(["a", *x[:7]])]
    got = max_similarities(["a b"], seeds, earlier=False)
    assert got.scores == [rouge_fmeasure(1, 2, 8)] == [0.2] and rouge_fmeasure(2, 2, 18) < 0.2
    assert got.partners == [1]
    assert similarity_bin(rouge_fmeasure(2, 10, 10)) == 2 and similarity_bin(0.3) == 3 and similarity_bin(1.0) == 9


def test_long_texts_and_empty_ones() -> None:
    long = " ".join(f"w{k % 97}" for k in range(400))  # LCS above 255
    pool = [long, long + " extra", "", "!!!", long[:500], "w1 w2 w3"]
    for own_bytes in (None, 0, 5):
        check(pool, ["w1 w2", "w3"], True, own_bytes)


def test_both_ways_equals_each_way() -> None:
    pool = ["a b c", "a b d", "c d e f", "中文 a", ""]
    seeds = ["a b", "d e f"]
    earlier, alone = similarities_both_ways(pool, seeds)
    assert earlier == max_similarities(pool, seeds) and alone == max_similarities(pool, seeds, earlier=False)
    assert similarities_both_ways(pool, [])[1] is None
