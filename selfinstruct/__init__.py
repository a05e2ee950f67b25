"""Grow an instruction-tuning dataset from seed tasks (Self-Instruct / Alpaca) against any OpenAI-compatible LLM."""

from __future__ import annotations

__version__ = "0.1.0"
