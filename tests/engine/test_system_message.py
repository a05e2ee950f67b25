"""A step's system message (StepParams.system, `respond --system`): sent before the prompt, and absent from the
journal key when empty, so that responses journaled before it existed are still found."""

from __future__ import annotations

import hashlib
import json

from selfinstruct.engine.journal import response_key
from selfinstruct.engine.types import EndpointSettings, StepParams
from selfinstruct.engine.wire import request_body

CHAT = EndpointSettings(base_url="http://localhost:1/v1", api_key="k", model="m", api="chat")
COMPLETIONS = EndpointSettings(base_url="http://localhost:1/v1", api_key="k", model="m", api="completions")


def test_no_system_message_keeps_the_key_of_earlier_versions() -> None:
    params = StepParams(temperature=0.7, top_p=1.0, max_tokens=64)
    earlier = {"step": "s", "model": "m", "api": "chat", "prompt": "p", "seed": 3,
               "params": {"temperature": 0.7, "top_p": 1.0, "max_tokens": 64, "stop": [], "presence_penalty": 0.0,
                          "frequency_penalty": 0.0}}  # fmt: skip
    digest = hashlib.sha256(json.dumps(earlier, sort_keys=True, ensure_ascii=False).encode()).hexdigest()
    assert response_key("s", "m", "chat", "p", params, 3) == digest
    with_system = StepParams(temperature=0.7, top_p=1.0, max_tokens=64, system="Explain step by step.")
    assert response_key("s", "m", "chat", "p", with_system, 3) != digest


def test_the_system_message_goes_first() -> None:
    params = StepParams(temperature=0.7, top_p=1.0, max_tokens=64, system="Be brief.")
    assert request_body(CHAT, "Hi", params, 1)["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Hi"},
    ]
    assert request_body(COMPLETIONS, "Hi", params, 1)["prompt"] == "Be brief.\n\nHi"
    plain = StepParams(temperature=0.7, top_p=1.0, max_tokens=64)
    assert request_body(CHAT, "Hi", plain, 1)["messages"] == [{"role": "user", "content": "Hi"}]
    reasoning = EndpointSettings(base_url=None, api_key="k", model="o3-mini", api="chat")
    assert request_body(reasoning, "Hi", params, 1)["messages"][0] == {"role": "system", "content": "Be brief."}
