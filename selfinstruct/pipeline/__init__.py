"""A generate run over the engine (scheduler, run state, stop rules, dry-run estimate) and the filter command."""
