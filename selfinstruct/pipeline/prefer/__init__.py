"""`prefer`: a judge rates (or compares in both orders) the answers of a `respond` run, and the verdicts become
preference pairs for DPO."""
