"""Which HTTP errors heal and which stop a run (with the fix named), what a retried one is called, and how
long to wait before the next attempt. Shared by the online client and the Batch API's control calls."""

from __future__ import annotations

import random
from typing import TYPE_CHECKING

from selfinstruct.engine.redact import redact
from selfinstruct.engine.types import KEYLESS_PLACEHOLDER, EndpointSettings

if TYPE_CHECKING:
    import openai


def retry_after(exc: openai.APIStatusError) -> float | None:
    headers = exc.response.headers
    for name, divisor in (("retry-after-ms", 1000.0), ("retry-after", 1.0)):
        value = headers.get(name)
        if value:
            try:
                return max(0.0, float(value) / divisor)
            except ValueError:
                continue
    return None


def error_message(exc: openai.APIStatusError) -> str:
    """The server's own words, less any credential it echoes (some proxies quote the Authorization header)."""
    body = exc.body
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and inner.get("message"):
            return redact(str(inner["message"]))
    return redact(str(exc.message))


def fatal_status(exc: openai.APIStatusError, s: EndpointSettings, *, not_found: str = "") -> str | None:
    """Why an HTTP error stops the run, with the fix; None for what may heal (rate limits, 408, 409, 5xx).
    Every client of the endpoint (completions, Batch API control calls) decides the same way; `not_found` is
    the fix for a 404 where the model and the URL are not the likely cause."""
    message, code = error_message(exc), exc.status_code
    if code == 429:
        if "quota" in message.lower() or "insufficient_quota" in str(exc.body):
            return f"out of quota (429 insufficient_quota): {message}; add credit or use another key"
        return None
    fixes = {
        401: f"authentication failed (401): {message}; {_key_hint(s)}",
        403: f"permission denied (403): {message}; check that the key may use model {s.model!r}",
        404: f"not found (404): {message}; "
        + (not_found or f"check --model {s.model!r} and that --base-url ends with /v1"),
        400: f"request rejected (400): {message}",
        422: f"request rejected (422): {message}",
    }
    if code in fixes:
        return fixes[code]
    if code < 500 and code not in (408, 409):
        return f"HTTP {code}: {message}"
    return None


FIRST_RETRY = (0.05, 0.1)  # seconds: the first wait no Retry-After named, jittered (see retry_wait)


def retry_wait(guessed: int, delay: float | None, jitter: random.Random) -> float:
    """Seconds before the next attempt: what the server asked for (Retry-After, at most 120 s), else a backoff with
    jitter over the `guessed` earlier waits of this request that the server did not name: the first 0.05-0.1 s,
    then 0.5-1 s, doubling, at most 60 s (about 31 s over six retries, as before the short first step).

    A lone 5xx or dropped connection usually heals at once: waiting 0.25-0.5 s for it put that wait on the
    critical path of a run's last needed requests (issue 26's tail); a second failure in a row backs off as
    before, so an endpoint that is really down is given the same patience. A Retry-After honoured does not
    lengthen the guess after it: a 500 after three 429s waited the fourth step of the backoff before."""
    if delay is not None:
        return min(120.0, delay)
    if guessed == 0:
        return jitter.uniform(*FIRST_RETRY)
    return float(min(60.0, 0.5 * 2**guessed) * jitter.uniform(0.5, 1.0))


def retry_reason(exc: openai.APIStatusError) -> str:
    """What a retried HTTP error is called in the log and on the progress bar ("429: waiting 30 s")."""
    kind = "429 rate limited" if exc.status_code == 429 else f"HTTP {exc.status_code}"
    return f"{kind}: {error_message(exc)}"


def _key_hint(s: EndpointSettings) -> str:
    if s.api_key == KEYLESS_PLACEHOLDER:
        return "this server wants an API key: set OPENAI_API_KEY"
    return "check OPENAI_API_KEY"
