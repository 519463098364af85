"""``python -m alphaforge.metrics``: print the registry table of ``docs/metrics.md``."""

from alphaforge.metrics.registry import render_table

print(render_table(), end="")
