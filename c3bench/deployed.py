"""The deployed models of a run, kept on disk (``c3bench run --save-model``) and loaded back
(``c3bench.load_model``).

A client's deployed model is what it predicts with after the last round (FL: the global model; split
learning: its client part followed by the server part it uses, AdaSplit's mask applied to the server
weights), as one module of the run's backbone: normalised images in, logits out. Clients that deploy
the same weights share one file. Each file is a ``torch.save`` of a plain state dict (tensors only),
read back with ``torch.load(weights_only=True)``: loading runs no code from the file. The record
lists the files (paths relative to the record's folder) with their sha256 and the clients deploying
each, and what rebuilds the module: backbone, classes, input shape and each file's input
normalisation::

    "models": {"format": "torch-state-dict", "backbone": "lenet", "num_classes": 10,
               "input_shape": [3, 32, 32],
               "files": [{"path": "models/<name>/global.pt", "sha256": "...", "clients": [0, 1, 2],
                          "normalization": {"mean": [...], "std": [...]}}]}
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from c3bench.hparams import ConfigError
from c3bench.results import ResultError, write_atomic

if TYPE_CHECKING:
    from c3bench.federation import Federation
    from c3bench.method import Method

FORMAT = "torch-state-dict"
FOLDER = "models"


class DeployedModel(nn.Module):
    """A client's deployed model, ready to predict: ``model(x)`` takes normalised float images
    [B, C, H, W] (as c3bench trains on) and ``model.predict_images(x)`` uint8 images, normalising them
    with ``normalization`` (``mean``, ``std`` per channel); both return logits. In eval mode."""

    def __init__(self, network: nn.Module, mean: Sequence[float], std: Sequence[float]):
        super().__init__()
        self.network = network
        self.register_buffer("mean", torch.tensor(list(mean), dtype=torch.float32).view(1, -1, 1, 1))
        self.register_buffer("std", torch.tensor(list(std), dtype=torch.float32).view(1, -1, 1, 1))
        self.eval()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.network(x)

    def predict_images(self, images: torch.Tensor) -> torch.Tensor:
        """Logits for uint8 images [B, C, H, W] (values 0-255)."""
        with torch.no_grad():
            return self.network((images.float().div(255.0) - self.mean) / self.std)


def supports(method: Method) -> bool:
    """Whether the method can hand over its deployed models (every built-in method can)."""
    from c3bench.method import Method as Base

    return type(method).deployed_model is not Base.deployed_model


def _state_bytes(state: dict[str, torch.Tensor]) -> bytes:
    buffer = io.BytesIO()
    torch.save({k: v.contiguous() for k, v in state.items()}, buffer)
    return buffer.getvalue()


def _same_weights(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def save_models(method: Method, federation: Federation, out_dir: Path, name: str, backbone: str) -> dict[str, Any]:
    """Write each distinct deployed model of ``method`` under ``out_dir/models/<name>/`` and return
    the record's ``models`` entry."""
    groups: list[tuple[dict[str, torch.Tensor], list[int]]] = []
    for client in range(federation.num_clients):
        state = {k: v.detach().cpu() for k, v in method.deployed_model(client).state_dict().items()}
        same = next((g for g in groups if federation.clients[g[1][0]].normalization
                     == federation.clients[client].normalization and _same_weights(g[0], state)), None)
        if same is not None:
            same[1].append(client)
        else:
            groups.append((state, [client]))
    folder = Path(out_dir) / FOLDER / name
    files = []
    for state, clients in groups:
        label = "global" if len(groups) == 1 else f"client-{clients[0]}"
        data = _state_bytes(state)
        path = folder / f"{label}.pt"
        write_atomic(path, data)
        norm = federation.clients[clients[0]].normalization
        files.append({"path": path.relative_to(out_dir).as_posix(), "sha256": hashlib.sha256(data).hexdigest(),
                      "clients": clients, "normalization": {"mean": list(norm.mean), "std": list(norm.std)}})
    return {"format": FORMAT, "backbone": backbone, "num_classes": federation.num_classes,
            "input_shape": list(federation.input_shape), "files": files}


def _record_and_folder(record: dict[str, Any] | str | Path, folder: str | Path | None) -> tuple[dict[str, Any], Path]:
    if isinstance(record, str | Path):
        from c3bench.results import load_record

        return load_record(record), Path(folder) if folder is not None else Path(record).parent
    return record, Path(folder) if folder is not None else Path("results")


def load_model(record: dict[str, Any] | str | Path, folder: str | Path | None = None,
               device: str | torch.device = "cpu") -> list[DeployedModel]:
    """The deployed models a run saved (``--save-model``), one per client in client order (clients
    that deploy the same weights share one module), each a :class:`DeployedModel` in eval mode.

    ``record``: a result file, or a record (a dict, as ``c3bench.run`` returns) whose files lie under
    ``folder`` (default: the record file's folder, else ``results``). Each file is checked against the
    sha256 the record names before it is read. Raises ResultError when the run saved no models or a
    file is missing or changed.
    """
    from c3bench.models import build_backbone

    record, base = _record_and_folder(record, folder)
    info = record.get("models")
    name = record.get("name", "the record")
    if not isinstance(info, dict) or info.get("format") != FORMAT:
        raise ResultError(f"{name}: the run saved no models; run it again with --save-model "
                          "(c3bench run ... --save-model --force, or c3bench.run(..., save_model=True)).")
    channels, size, _ = info["input_shape"]
    by_client: dict[int, DeployedModel] = {}
    for entry in info["files"]:
        path = base / entry["path"]
        try:
            data = path.read_bytes()
        except OSError:
            raise ResultError(f"{path}: model file of {name} is missing; give the folder that holds the record's "
                              "models/ folder (load_model(record, folder=...)).") from None
        if hashlib.sha256(data).hexdigest() != entry["sha256"]:
            raise ResultError(f"{path}: its sha256 is not the one {name} records; the file was changed or replaced.")
        state = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
        try:
            network = build_backbone(info["backbone"], info["num_classes"], in_channels=channels, image_size=size)
            network.load_state_dict(state)
        except (ConfigError, RuntimeError) as exc:
            raise ResultError(f"{path}: cannot be loaded into backbone {info['backbone']!r}: {exc}") from None
        norm = entry["normalization"]
        model = DeployedModel(network, norm["mean"], norm["std"]).to(device)
        for client in entry["clients"]:
            by_client[int(client)] = model
    return [by_client[c] for c in sorted(by_client)]
