"""generate runs."""
