"""A generate run over the engine (scheduler, run state, stop rules, dry-run estimate), the filter command, and
respond (answering a pool's instructions with other models) and prefer (a judge's preference pairs over them)."""
