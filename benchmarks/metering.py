"""What a fake endpoint served, counted at the server: the bill a provider would send, abandoned requests included."""

from __future__ import annotations

import threading
from collections.abc import Callable

from tests.servers.fake_openai import Reply, Request


def whitespace_words(text: str) -> int:
    return len(text.split())


class Meter:
    """A responder that counts the requests it answers and their prompt and completion tokens (as `count` counts
    them: the fake server's own usage uses the same function)."""

    def __init__(self, respond: Callable[[Request], Reply], count: Callable[[str], int] = whitespace_words) -> None:
        self.respond = respond
        self.count = count
        self.requests = self.prompt = self.completion = 0
        self._lock = threading.Lock()

    def __call__(self, request: Request) -> Reply:
        reply = self.respond(request)
        with self._lock:
            self.requests += 1
            self.prompt += self.count(request.prompt)
            self.completion += self.count(reply.text)
        return reply

    def take(self) -> tuple[int, int, int]:
        """(requests, prompt tokens, completion tokens) since the last take."""
        with self._lock:
            spent = (self.requests, self.prompt, self.completion)
            self.requests = self.prompt = self.completion = 0
        return spent
