"""EdgeSplit's planner (used by ``c3bench/methods/edgesplit.py`` and ``c3bench plan``): per-device split points
and bandwidth shares by alternating optimisation."""
