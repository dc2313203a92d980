"""ResNet-18 and ResNet-50 (He et al., 2016) as ``nn.Sequential`` of blocks: every block boundary
is a candidate cut.

Blocks: ``stem``, then each residual block on its own (``layer1_0``, ``layer1_1``, ...), then
``head`` (global average pool, flatten, linear). ResNet-18 has 10 blocks (9 cuts), ResNet-50 18
(17 cuts).

Stem: inputs of at most 64x64 pixels get the CIFAR stem (3x3 conv, stride 1, no max-pool, as in
He et al.'s CIFAR experiments and most CIFAR ResNet code), larger inputs the ImageNet stem (7x7
conv stride 2, 3x3 max-pool stride 2). Bottleneck blocks put the stride on the 3x3 convolution
("ResNet v1.5"). Convolutions use He (fan-out) initialisation, batch norms weight 1 and bias 0.
"""

from __future__ import annotations

from collections import OrderedDict

import torch
from torch import nn

CIFAR_STEM_MAX_SIZE = 64


def _bn(channels: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(channels)


class _Shortcut(nn.Sequential):
    """1x1 convolution and batch norm matching the residual branch's shape."""

    def __init__(self, cin: int, cout: int, stride: int):
        super().__init__(nn.Conv2d(cin, cout, 1, stride=stride, bias=False), _bn(cout))


class BasicBlock(nn.Module):
    """Two 3x3 convolutions (ResNet-18/34)."""

    expansion = 1

    def __init__(self, cin: int, width: int, stride: int = 1):
        super().__init__()
        cout = width * self.expansion
        self.conv1 = nn.Conv2d(cin, width, 3, stride=stride, padding=1, bias=False)
        self.bn1 = _bn(width)
        self.conv2 = nn.Conv2d(width, cout, 3, padding=1, bias=False)
        self.bn2 = _bn(cout)
        self.shortcut = _Shortcut(cin, cout, stride) if stride != 1 or cin != cout else nn.Identity()
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + self.shortcut(x))


class Bottleneck(nn.Module):
    """1x1 reduce, 3x3 (with the stride), 1x1 expand by 4 (ResNet-50/101/152)."""

    expansion = 4

    def __init__(self, cin: int, width: int, stride: int = 1):
        super().__init__()
        cout = width * self.expansion
        self.conv1 = nn.Conv2d(cin, width, 1, bias=False)
        self.bn1 = _bn(width)
        self.conv2 = nn.Conv2d(width, width, 3, stride=stride, padding=1, bias=False)
        self.bn2 = _bn(width)
        self.conv3 = nn.Conv2d(width, cout, 1, bias=False)
        self.bn3 = _bn(cout)
        self.shortcut = _Shortcut(cin, cout, stride) if stride != 1 or cin != cout else nn.Identity()
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + self.shortcut(x))


def _resnet(block: type[BasicBlock] | type[Bottleneck], depths: tuple[int, ...], num_classes: int,
            in_channels: int, image_size: int) -> nn.Sequential:
    if image_size <= CIFAR_STEM_MAX_SIZE:
        stem = nn.Sequential(nn.Conv2d(in_channels, 64, 3, padding=1, bias=False), _bn(64), nn.ReLU(inplace=True))
    else:
        stem = nn.Sequential(nn.Conv2d(in_channels, 64, 7, stride=2, padding=3, bias=False), _bn(64),
                             nn.ReLU(inplace=True), nn.MaxPool2d(3, stride=2, padding=1))
    blocks: OrderedDict[str, nn.Module] = OrderedDict(stem=stem)
    cin = 64
    for stage, (width, depth) in enumerate(zip((64, 128, 256, 512), depths, strict=True), start=1):
        for k in range(depth):
            stride = 2 if stage > 1 and k == 0 else 1
            blocks[f"layer{stage}_{k}"] = block(cin, width, stride)
            cin = width * block.expansion
    blocks["head"] = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(cin, num_classes))
    model = nn.Sequential(blocks)
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
    return model


def resnet18(num_classes: int, in_channels: int = 3, image_size: int = 32) -> nn.Sequential:
    """ResNet-18: basic blocks [2, 2, 2, 2]; 11.2M parameters with 10 classes."""
    return _resnet(BasicBlock, (2, 2, 2, 2), num_classes, in_channels, image_size)


def resnet50(num_classes: int, in_channels: int = 3, image_size: int = 32) -> nn.Sequential:
    """ResNet-50: bottleneck blocks [3, 4, 6, 3]; 25.6M parameters with 1000 classes."""
    return _resnet(Bottleneck, (3, 4, 6, 3), num_classes, in_channels, image_size)
