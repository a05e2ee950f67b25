"""Export formats for trainers, and the Hugging Face dataset folder with its card (hf/)."""
