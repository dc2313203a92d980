"""EdgeSplit's planner (used by ``methods/edgesplit.py`` and ``c3bench plan``): per-device split points
and bandwidth shares by alternating optimisation."""
