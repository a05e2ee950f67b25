"""Credentials out of text before it reaches disk, stderr or a log.

A server's error may echo the request's Authorization header, and a --base-url may carry user:KEY@; both end
up in run.json, in the one-line error and in -v logs unless every such text passes through `redact`.
"""

from __future__ import annotations

import logging
import re

MASK = "[redacted]"

# Authorization / Proxy-Authorization / api-key / x-api-key headers, as "Name: value" or JSON "name": "value";
# an auth scheme (Bearer, Basic, ...) is kept so that the message still says what was sent.
_HEADER = re.compile(
    r"""(?ix)
    \b((?:proxy-)?authorization|(?:x-)?api[-_]?key)\b   # the header or field name
    (["']?\s*[:=]\s*["']?)                                # : or = with optional quotes
    (?:(bearer|basic|token|digest)\s+)?                   # the scheme
    [^\s"',;}&]+                                          # the credential
    """
)
_BEARER = re.compile(r"(?i)\b(bearer)\s+[A-Za-z0-9._~+/=-]{8,}")
# OpenAI-style secret keys (sk-..., sk-proj-..., sk-ant-...), wherever they appear.
_KEY = re.compile(r"\bsk-[A-Za-z0-9_-]{6,}")
# URL userinfo: scheme://user:password@host -> scheme://[redacted]@host
_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s@?#]+@")
# Every pattern above needs "@" or one of these (lower-cased) in the text.
_TRIGGERS = ("sk-", "auth", "key", "bearer")


def redact(text: str) -> str:
    """The text with credentials replaced by [redacted]: Authorization-like header values, sk- keys, the
    user:password part of URLs. Idempotent, and cheap on text that holds none."""
    lowered = text.lower()
    if "@" not in text and not any(word in lowered for word in _TRIGGERS):
        return text  # the usual log line: no regex runs
    text = _USERINFO.sub(rf"\1{MASK}@", text)
    text = _HEADER.sub(lambda m: f"{m[1]}{m[2]}{m[3] + ' ' if m[3] else ''}{MASK}", text)
    text = _BEARER.sub(rf"\1 {MASK}", text)
    return _KEY.sub(MASK, text)


class RedactingFilter(logging.Filter):
    """Redacts each log record's formatted message (the SDK's and httpx's request lines name the URL)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True
