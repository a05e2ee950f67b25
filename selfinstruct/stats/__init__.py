"""A pool's statistics, computed here and rendered in render/."""
