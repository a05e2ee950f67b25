"""Self-Instruct (Wang et al., 2022): new instructions from 8 demonstrations, classify, instances output- or input-
first."""
