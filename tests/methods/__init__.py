"""Generation methods and their reply parsers."""
