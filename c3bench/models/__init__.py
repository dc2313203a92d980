"""Backbones as ordered blocks and the helpers that cut them into client and server parts."""

from c3bench.models.backbones import build_backbone, lenet, simple_cnn, split_backbone
from c3bench.models.lrn import FastLocalResponseNorm

__all__ = ["build_backbone", "lenet", "simple_cnn", "split_backbone", "FastLocalResponseNorm"]
