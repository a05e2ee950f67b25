"""Reading and writing files: records from JSONL/JSON, crash-safe append-only logs, run files, the bundled prompts and
seeds."""
