"""OpenAI's Batch API behind the same Completer seam as the online client."""
