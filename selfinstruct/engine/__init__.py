"""The request engine: the client, the wire format, retries and rate limits, the budget and its journal (the ledger),
Batch, the embedded model. Nothing here knows what a task is."""
