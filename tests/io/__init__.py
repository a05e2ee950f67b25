"""Files: records, logs, seeds."""
