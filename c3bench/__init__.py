"""c3bench: benchmark federated and split learning on accuracy, bandwidth and compute (C3-Score)."""

__version__ = "0.1.0"

from c3bench.score import DEFAULT_TEMPERATURE, c3_score  # noqa: E402

__all__ = ["__version__", "c3_score", "DEFAULT_TEMPERATURE"]
