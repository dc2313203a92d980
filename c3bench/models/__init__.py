"""Backbones as ordered blocks and the helpers that cut them into client and server parts."""

from c3bench.models.backbones import build_backbone, lenet, simple_cnn, split_backbone
from c3bench.models.lrn import FastLocalResponseNorm

__all__ = ["build_backbone", "builtins", "lenet", "simple_cnn", "split_backbone", "FastLocalResponseNorm"]


def builtins() -> dict[str, str]:
    """The built-in backbones (``c3bench.registry.BACKBONES``), lazily."""
    return {"lenet": "c3bench.models.backbones:lenet", "simple-cnn": "c3bench.models.backbones:simple_cnn",
            "resnet18": "c3bench.models.resnet:resnet18", "resnet50": "c3bench.models.resnet:resnet50"}
