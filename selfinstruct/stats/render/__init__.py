"""The stats and audit reports as text, HTML and plots."""
