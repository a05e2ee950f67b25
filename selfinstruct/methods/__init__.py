"""Generation methods: what each asks the model and how it reads the replies, with its prompt templates."""
