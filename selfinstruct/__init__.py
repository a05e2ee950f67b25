"""Grow an instruction-tuning dataset from seed tasks (Self-Instruct / Alpaca) against any OpenAI-compatible LLM."""

from __future__ import annotations

from selfinstruct.version import __version__

__all__ = ["__version__"]
