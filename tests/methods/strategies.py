"""Hypothesis strategies the reply-parsing property tests share (test_parsing_properties, test_parsing_oracle):
they run at import time, in `@given`, where a fixture cannot reach."""

from __future__ import annotations

from hypothesis import strategies as st

VERBS = ["Write", "Explain", "Summarize", "Describe", "Suggest", "Compare", "Plan", "Rewrite", "Classify", "Name"]

labels = st.lists(st.sampled_from(["Positive", "Negative", "Neutral", "Yes", "No", "Spam"]), min_size=1, max_size=4,
                  unique=True)  # fmt: skip
