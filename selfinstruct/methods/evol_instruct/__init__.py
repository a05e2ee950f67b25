"""Evol-Instruct (WizardLM, Xu et al., 2023): instructions rewritten in depth or in breadth, round after round."""
