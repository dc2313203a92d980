"""An offline protocol generated from the seed: no download, runs anywhere in seconds.

Each class has a smooth random prototype image. Each client draws its label mix from a
Dirichlet(alpha) (label skew) and applies its own colour gain and offset (feature skew); pixels get
Gaussian noise. Images are 32x32x3 uint8, like the real protocols, so the whole pipeline is used.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from c3bench.federation import ClientData, Federation, Normalization
from c3bench.hparams import ConfigError, HParam
from c3bench.protocol import Protocol
from c3bench.registry import register_protocol

IMAGE_BYTES = 3 * 32 * 32
MAX_IMAGES = 2_000_000  # 5.7 GiB of uint8 images; generation needs float32 copies of one client's part on top


@register_protocol
class Synthetic(Protocol):
    name = "synthetic"
    description = "Offline, generated from the seed: label skew (Dirichlet) and per-client colour shift."
    version = "1"
    default_rounds = 10
    default_backbone = "simple-cnn"
    needs_data = False
    hparams = (
        HParam("num_clients", int, 4, "number of clients", low=1, high=1000),
        HParam("num_classes", int, 10, "number of classes", low=2, high=100),
        HParam("train_per_client", int, 600, "training images per client", low=1, high=10_000_000),
        HParam("test_per_client", int, 200, "test images per client", low=1, high=10_000_000),
        HParam("alpha", float, 0.5, "Dirichlet concentration of each client's label mix (smaller = more skew)", low=1e-3),
        HParam("noise", float, 0.25, "std of pixel noise, in [0, 1] units", low=0.0, high=1.0),
    )

    @classmethod
    def check_params(cls, params: dict[str, Any]) -> None:
        images = params["num_clients"] * (params["train_per_client"] + params["test_per_client"])
        if images > MAX_IMAGES:
            raise ConfigError(
                f"the synthetic federation would hold {images:,} images ({images * IMAGE_BYTES / 2**30:,.1f} GiB, "
                f"several times that while generating); at most {MAX_IMAGES:,} are allowed. Lower num_clients, "
                "train_per_client or test_per_client.")

    def build(self, params: dict[str, Any], seed: int, data_root: Path | None = None) -> Federation:
        rng = np.random.default_rng([seed, 0xC3])
        k, size = params["num_classes"], 32
        coarse = torch.from_numpy(rng.uniform(0.0, 1.0, (k, 3, 4, 4)).astype(np.float32))
        prototypes = F.interpolate(coarse, size=(size, size), mode="bilinear", align_corners=False)
        clients = []
        for i in range(params["num_clients"]):
            mix = rng.dirichlet(np.full(k, params["alpha"]))
            gain = rng.uniform(0.7, 1.3, (1, 3, 1, 1)).astype(np.float32)
            offset = rng.uniform(-0.15, 0.15, (1, 3, 1, 1)).astype(np.float32)
            split = {}
            for part, n in (("train", params["train_per_client"]), ("test", params["test_per_client"])):
                labels = rng.choice(k, size=n, p=mix)
                noise = rng.normal(0.0, params["noise"], (n, 3, size, size)).astype(np.float32)
                images = prototypes[labels].numpy() * gain + offset + noise
                split[part] = (
                    torch.from_numpy(np.clip(images * 255.0 + 0.5, 0, 255).astype(np.uint8)),
                    torch.from_numpy(labels.astype(np.int64)),
                )
            clients.append(ClientData(
                x_train=split["train"][0], y_train=split["train"][1],
                x_test=split["test"][0], y_test=split["test"][1],
                normalization=Normalization((0.5, 0.5, 0.5), (0.25, 0.25, 0.25)),
                name=f"client{i}",
            ))
        return Federation(clients=clients, num_classes=k, augment=False)
