"""EdgeSplit as a trainable method: per-device cuts from the planner, bytes equal to the activations
and gradients actually sent, and per-block aggregation across client parts of different depths."""

from __future__ import annotations

import json
import math

import pytest
import torch

from c3bench.edgesplit.planner import profile_model, split_counters
from c3bench.models import build_backbone
from c3bench.runner import Runner, resolve
from tests.helpers import tiny_spec

# A compute-starved device and a fast one on the same links: the planner must cut them differently.
FLEET = {
    "server": {"name": "srv", "gflops": 1000, "bandwidth_mbps": 20},
    "devices": [
        {"name": "tiny", "gflops": 0.01, "uplink_mbps": 10, "downlink_mbps": 10, "latency_ms": 5},
        {"name": "fast", "gflops": 100, "uplink_mbps": 10, "downlink_mbps": 10, "latency_ms": 5},
    ],
}


def _spec(tmp_path, rounds: int):
    fleet_file = tmp_path / "fleet.json"
    fleet_file.write_text(json.dumps(FLEET))
    spec = tiny_spec(method="edgesplit", rounds=rounds)
    spec.devices = str(fleet_file)
    return spec


def test_two_devices_get_two_cuts_and_bytes_are_the_activations_and_gradients_sent(tmp_path):
    record = Runner(resolve(_spec(tmp_path, rounds=1)), tmp_path / "r").execute()
    cuts = record["method_info"]["cuts"]
    assert len(set(cuts)) == 2 and cuts[0] < cuts[1]  # the slow device keeps less of the model

    model = build_backbone("simple-cnn", 10)
    samples, batches = 64, math.ceil(64 / 32)  # synthetic tiny: 64 training images, batch size 32
    entry = record["rounds"][0]
    for i, cut in enumerate(cuts):
        with torch.no_grad():
            act_bytes = model[:cut](torch.zeros(1, 3, 32, 32)).numel() * 4
        part_bytes = sum(t.numel() * t.element_size() for t in model[:cut].state_dict().values())
        c = entry["per_client"][i]
        # activations + int64 labels up and gradients down every batch; the client part up and down once
        assert c["bytes_up"] == samples * (act_bytes + 8) + part_bytes
        assert c["bytes_down"] == samples * act_bytes + part_bytes
        assert (c["messages_up"], c["messages_down"]) == (2 * batches + 1, batches + 1)
        # and the planner predicted exactly what the run charged
        predicted = split_counters(profile_model(model, (3, 32, 32)), cut, samples, 32)
        assert (c["client_flops"], c["server_flops"]) == (predicted.client_flops, predicted.server_flops)
    assert entry["sim_time_s"] == pytest.approx(record["method_info"]["planned_round_s"], rel=1e-12)
    assert sum(record["method_info"]["bandwidth_shares"]) == pytest.approx(1.0)


def test_blocks_are_averaged_across_client_parts_of_different_depths(tmp_path):
    run = resolve(_spec(tmp_path, rounds=1))
    federation = run.protocol_cls().build(run.protocol_params, 0)
    small = federation.clients[1]  # unequal data sizes, so the weights matter
    small.x_train, small.y_train = small.x_train[:40], small.y_train[:40]
    federation, ctx, method, _ = Runner(run, tmp_path / "r", federation=federation).build()
    before = {k: v.clone() for k, v in method.global_model.state_dict().items()}
    ctx.ledger.begin_round()
    trained = []  # each device's path (client part + server copy) just before aggregation
    real_send = ctx.channel.send

    def spy(payload, *, src, dst, **kw):
        if dst == "server" and isinstance(payload, dict):  # a client part's upload (activations are tensors)
            i = int(src)
            trained.append({**{k: v.clone() for k, v in payload.items()},
                            **{k: v.clone() for k, v in method.servers[i].state_dict().items()}})
        return real_send(payload, src=src, dst=dst, **kw)

    ctx.channel.send = spy
    method.run_round(0)
    ctx.ledger.end_round()
    sizes = [c.num_train for c in federation.clients]
    after = method.global_model.state_dict()
    assert len(trained) == 2
    for key in after:
        expected = sum(t[key] * (n / sum(sizes)) for t, n in zip(trained, sizes, strict=True))
        assert torch.allclose(after[key], expected.to(after[key].dtype))
        assert not torch.equal(after[key], before[key])
    x = torch.randn(4, 3, 32, 32)
    with torch.no_grad(), ctx.ledger.uncharged():
        assert torch.allclose(method.predict(0, x), method.predict(1, x))  # one global model after the round
