"""The judge: a sample of the pool rated against the Self-Instruct paper's quality questions."""
