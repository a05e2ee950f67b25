"""Magpie (Xu et al., 2024): queries from the model's own pre-query template, answered through chat."""
