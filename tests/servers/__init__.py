"""The loopback fake servers and scripted models the tests run against, with their own tests.

Tests never start a fake themselves: the fixtures in `tests/servers/fixtures.py` (registered by
`tests/conftest.py`) start each server and stop it at teardown (`fake_openai`, `scripted_server`, `judge_server`,
`fake_batches`) and hand out the scripted models (`scripted`, `scripted_judge`). This package's root is the one
module tests import from here: the plain values they script the fakes with (faults, replies, the requests a server
recorded, the server profiles and their rules, the hostile mixes, the scripted judge's pools and verdicts), and the
fakes' classes for type annotations.
"""

from tests.servers.chat_template import ApplyTemplate, Render, chatml, phi3
from tests.servers.fake_batches import FakeBatches, kill_at_rest, uploaded
from tests.servers.fake_openai import FakeOpenAIServer, Fault, Reply, Request, Responder, bpe_like_count
from tests.servers.fixtures import StartServer
from tests.servers.gguf_tokenizer import gguf_tokenizer
from tests.servers.hostile import HUGE_TEXT, make_hostile, usage_faults
from tests.servers.scripted_answers import (
    ANSWER_KEY,
    ANSWER_MODELS,
    JUDGES,
    RESPOND_ENV,
    answer_or_judge,
    answered_by_question,
    aspect_of,
    aspect_quality,
    fate,
    garbled,
    make_answer_pool,
    order_dependent,
    quality,
    questions_of,
    recorded_batches,
    task_number,
    tolerant_lines,
)
from tests.servers.scripted_judge import (
    expected,
    instance_asked,
    journal_lines,
    keys_of,
    make_pool,
    primary,
    style_of,
    verdict_of,
)
from tests.servers.scripted_model import instruction_for, rng_for
from tests.servers.server_rules import PROFILES, apply_stop, check_request

__all__ = [
    "ANSWER_KEY",
    "ANSWER_MODELS",
    "HUGE_TEXT",
    "JUDGES",
    "PROFILES",
    "RESPOND_ENV",
    "ApplyTemplate",
    "FakeBatches",
    "FakeOpenAIServer",
    "Fault",
    "Render",
    "Reply",
    "Request",
    "Responder",
    "StartServer",
    "answer_or_judge",
    "answered_by_question",
    "apply_stop",
    "aspect_of",
    "aspect_quality",
    "bpe_like_count",
    "chatml",
    "check_request",
    "expected",
    "fate",
    "garbled",
    "gguf_tokenizer",
    "instance_asked",
    "instruction_for",
    "journal_lines",
    "keys_of",
    "kill_at_rest",
    "make_answer_pool",
    "make_hostile",
    "make_pool",
    "order_dependent",
    "phi3",
    "primary",
    "quality",
    "questions_of",
    "recorded_batches",
    "rng_for",
    "style_of",
    "task_number",
    "tolerant_lines",
    "uploaded",
    "usage_faults",
    "verdict_of",
]
