"""The ids that make a batch request, and a line of a request file, the same in every process.

A restarted run recognises the request it asked before by its custom_id, and closes the journal charge an
earlier process opened for a line by that line's charge id, instead of submitting or charging it again.
"""

from __future__ import annotations

import hashlib
import json

from selfinstruct.engine.types import EndpointSettings, StepParams
from selfinstruct.engine.wire import request_body, request_path


def custom_id(settings: EndpointSettings, prompt: str, params: StepParams, seed: int | None) -> str:
    """The same request always gets the same id, and a different request a different one."""
    body = request_body(settings, prompt, params, seed)
    text = json.dumps([request_path(settings, params), body], sort_keys=True, ensure_ascii=False)
    return "r" + hashlib.sha256(text.encode()).hexdigest()[:32]


def line_charge(file_id: str, cid: str) -> str:
    """The journal's id for a line of a request file: the same in every process, so that a restart that waits
    for an earlier process's batch closes that process's charge instead of making another."""
    return f"{file_id}/{cid}"
