"""Backbones as ``nn.Sequential`` of named blocks, so that a cut point is simply a block index.

The names (lenet, simple-cnn, resnet18, resnet50) live in ``c3bench.registry.BACKBONES``."""

from __future__ import annotations

from collections import OrderedDict

from torch import nn

from c3bench.hparams import ConfigError
from c3bench.models.lrn import FastLocalResponseNorm
from c3bench.registry import BACKBONES


def lenet(num_classes: int, in_channels: int = 3, image_size: int = 32) -> nn.Sequential:
    """The AdaSplit authors' LeNet (FedWeIT/HAT variant), about 3M parameters at 32x32.

    conv 3->20 5x5 same, ReLU, LRN(4), maxpool 3/2 pad 1 -> 20x16x16; conv 20->50, same block ->
    50x8x8; fc 3200->800->500->classes. Blocks: conv1, conv2, fc1, fc2, head (cuts 1..4).
    """
    def conv_block(cin: int, cout: int) -> nn.Sequential:
        return nn.Sequential(
            nn.Conv2d(cin, cout, 5, padding=2),
            nn.ReLU(),
            FastLocalResponseNorm(4),
            nn.MaxPool2d(3, stride=2, padding=1),
        )

    side = image_size // 4
    return nn.Sequential(OrderedDict(
        conv1=conv_block(in_channels, 20),
        conv2=conv_block(20, 50),
        fc1=nn.Sequential(nn.Flatten(), nn.Linear(50 * side * side, 800), nn.ReLU()),
        fc2=nn.Sequential(nn.Linear(800, 500), nn.ReLU()),
        head=nn.Linear(500, num_classes),
    ))


def simple_cnn(num_classes: int, in_channels: int = 3, image_size: int = 32) -> nn.Sequential:
    """NIID-Bench's "simple-cnn": conv 6 and 16 filters 5x5 with 2x2 pooling, fc 400->120->84."""
    side = ((image_size - 4) // 2 - 4) // 2
    return nn.Sequential(OrderedDict(
        conv1=nn.Sequential(nn.Conv2d(in_channels, 6, 5), nn.ReLU(), nn.MaxPool2d(2)),
        conv2=nn.Sequential(nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2)),
        fc1=nn.Sequential(nn.Flatten(), nn.Linear(16 * side * side, 120), nn.ReLU()),
        fc2=nn.Sequential(nn.Linear(120, 84), nn.ReLU()),
        head=nn.Linear(84, num_classes),
    ))




def build_backbone(name: str, num_classes: int, in_channels: int = 3, image_size: int = 32) -> nn.Sequential:
    """Build a registered backbone by name; unknown names raise ConfigError with the choices."""
    return BACKBONES.get(name)(num_classes=num_classes, in_channels=in_channels, image_size=image_size)


def split_backbone(model: nn.Sequential, cut: int) -> tuple[nn.Sequential, nn.Sequential]:
    """Client part = blocks[:cut], server part = blocks[cut:] (sharing the same module objects)."""
    if not 1 <= cut < len(model):
        raise ConfigError(f"cut must be between 1 and {len(model) - 1} for this backbone, got {cut}.")
    return model[:cut], model[cut:]
