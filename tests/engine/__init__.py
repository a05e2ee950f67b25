"""The request engine."""
