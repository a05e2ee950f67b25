"""The Hugging Face dataset folder: Parquet splits, the card and the provenance it reports."""
