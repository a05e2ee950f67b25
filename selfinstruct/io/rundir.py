"""The files of a run directory, by name: what generate writes and every other command reads."""

TASKS = "tasks.jsonl"  # the pool
REJECTED = "rejected.jsonl"  # what was rejected, at which stage, and why
SEEDS = "seeds.jsonl"  # the seed tasks the run started from, as it read them
RUN = "run.json"  # the run's settings, fingerprints and counters (a cache of the journal's spend)
