"""Bytes and FLOPs are counted from real tensors and modules, and agree with analytic counts."""

from __future__ import annotations

import pytest
import thop  # noqa: I001
import torch
from torch import nn

from c3bench.accounting import (
    SERVER,
    BudgetExceeded,
    Budgets,
    Channel,
    Encoding,
    FlopMeter,
    Ledger,
    tensor_bytes,
)
from c3bench.accounting.flops import forward_cost, train_step_cost
from c3bench.models import lenet, simple_cnn
from tests.helpers import run_tiny


def test_dense_bytes_are_numel_times_four_and_receiver_gets_a_copy():
    ledger = Ledger(2)
    ledger.begin_round()
    channel = Channel(ledger)
    t = torch.zeros(10, 7)
    t[0, :3] = 1.0
    got = channel.send({"w": t, "b": torch.ones(5)}, src=0, dst=SERVER)
    assert ledger.current[0].bytes_up == (70 + 5) * 4
    assert ledger.current[0].paper_bytes_up == (3 + 5) * 4  # the authors' convention: non-zeros * 4
    assert got["w"].data_ptr() != t.data_ptr() and torch.equal(got["w"], t)
    channel.send(t, src=SERVER, dst=1)
    assert ledger.current[1].bytes_down == 280 and ledger.current[0].bytes_down == 0
    with pytest.raises(ValueError):
        channel.send(t, src=0, dst=0)


def test_sparse_encoding_charges_values_plus_the_cheaper_index():
    t = torch.zeros(1000)
    t[:10] = 2.0
    honest, paper = tensor_bytes(t, Encoding.SPARSE)
    assert paper == 40
    assert honest == 10 * 4 + min(125, 40)  # 10 values + 10 int32 indices (bitmap would be 125 B)
    t[:990] = 1.0  # 990 values + a bitmap (4085 B) cost more than dense: a sender sends dense
    assert tensor_bytes(t, Encoding.SPARSE)[0] == 4000
    t[300:] = 0.0  # 300 non-zeros: bitmap (125 B) beats int32 indices (1200 B)
    assert tensor_bytes(t, Encoding.SPARSE)[0] == 300 * 4 + 125


def test_bandwidth_budget_raises_at_the_charge_that_crosses_it():
    ledger = Ledger(1, budgets=Budgets(bandwidth_bytes=100))
    ledger.begin_round()
    channel = Channel(ledger)
    channel.send(torch.zeros(20), src=0, dst=SERVER)
    with pytest.raises(BudgetExceeded):
        channel.send(torch.zeros(10), src=0, dst=SERVER)


def _send_mixed_payloads(channel: Channel) -> None:
    sparse = torch.zeros(1000)
    sparse[:10] = 2.0
    channel.send({"w": torch.randn(6, 5).relu(), "b": torch.zeros(4)}, src=0, dst=SERVER)
    channel.send(sparse, src=SERVER, dst=1, encoding=Encoding.SPARSE)
    channel.send(torch.zeros(3), src=1, dst=0, encoding=Encoding.SPARSE)
    channel.send(torch.ones(2, 2), src=1, dst=SERVER, paper_counted=False)


@pytest.mark.parametrize("budget", [None, 10**6])
def test_deferred_counts_stay_on_the_device_until_the_round_ends_and_then_equal_the_immediate_ones(budget):
    """What a CUDA run does (counts that read values stay 0-dim tensors; sizes from shapes are ints at
    once), forced on CPU tensors, against the immediate counts."""
    totals = []
    for defer in (False, True):
        torch.manual_seed(0)
        ledger = Ledger(2, budgets=Budgets(bandwidth_bytes=budget))
        ledger.begin_round()
        channel = Channel(ledger, defer_counts=defer)
        _send_mixed_payloads(channel)
        if defer:
            assert isinstance(ledger.current[0].paper_bytes_up, torch.Tensor)
            assert isinstance(ledger.current[0].bytes_up, int) and ledger.current[0].messages_up == 1
            assert isinstance(ledger.current[1].bytes_down, torch.Tensor)  # sparse: value-dependent
        per_client = ledger.end_round()
        assert all(isinstance(v, int) for c in per_client.values() for v in c.as_dict().values())
        totals.append(({i: c.as_dict() for i, c in per_client.items()}, ledger.finished.as_dict()))
    assert totals[0] == totals[1]
    assert totals[0][1]["bytes_down"] == 10 * 4 + 40 and totals[0][1]["paper_bytes_peer"] == 0


def test_a_deferred_sparse_send_still_stops_at_the_bandwidth_budget():
    ledger = Ledger(1, budgets=Budgets(bandwidth_bytes=100))
    ledger.begin_round()
    channel = Channel(ledger, defer_counts=True)
    sparse = torch.zeros(1000)
    sparse[:5] = 1.0
    channel.send(sparse, src=0, dst=SERVER, encoding=Encoding.SPARSE)  # 5 values + 5 indices: 40 B
    with pytest.raises(BudgetExceeded):
        channel.send(torch.ones(20), src=0, dst=SERVER, encoding=Encoding.SPARSE)


class SmallNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.fc = nn.Linear(4 * 8 * 8, 5)

    def forward(self, x):
        return self.fc(torch.relu(self.conv(x)).flatten(1))


def test_flops_match_an_analytic_count_forward_and_backward():
    b = 6
    conv_fwd = 2 * b * 4 * 8 * 8 * 3 * 3 * 3  # 2 * outputs * (Cin * k * k)
    fc_fwd = 2 * b * 256 * 5
    cost = train_step_cost(SmallNet(), (b, 3, 8, 8))
    assert cost.forward_flops == conv_fwd + fc_fwd
    # backward: the first conv needs only its weight gradient (the input needs none); the linear
    # layer needs weight and input gradients, twice its forward.
    assert cost.backward_flops == conv_fwd + 2 * fc_fwd
    assert cost.fwd_macs == (conv_fwd + fc_fwd) // 2


@pytest.mark.parametrize("build", [simple_cnn, lenet])
def test_forward_flops_agree_with_thop(build):
    model = build(10)
    macs, _ = thop.profile(model, inputs=(torch.zeros(1, 3, 32, 32),), verbose=False)
    assert forward_cost(model, (1, 3, 32, 32)).forward_flops == pytest.approx(2 * macs, rel=1e-9)


def test_lenet_forward_macs_match_the_authors_per_block_figures():
    model = lenet(10)
    blocks = [forward_cost(model[:i + 1], (1, 3, 32, 32)).fwd_macs for i in range(len(model))]
    per_block = [blocks[0]] + [b - a for a, b in zip(blocks, blocks[1:], strict=False)]
    assert [round(m / 1e4) / 100 for m in per_block[:4]] == [1.54, 6.40, 2.56, 0.40]
    assert sum(p.numel() for p in model.parameters()) == 2_992_880


def test_meter_counts_once_per_key_and_charges_every_time():
    ledger = Ledger(1)
    ledger.begin_round()
    meter = FlopMeter(ledger)
    model = SmallNet()
    for _ in range(3):
        x = torch.randn(6, 3, 8, 8)
        with meter.count(("step", x.shape), side="client", client=0) as m:
            loss = model(x).sum()
            m.mark_backward()
            loss.backward()
    assert len(meter.cache) == 1
    (cost,) = meter.cache.values()
    assert ledger.current[0].client_flops == 3 * cost.flops
    assert ledger.current[0].client_fwd_macs == 3 * cost.fwd_macs
    assert cost.flops == train_step_cost(SmallNet(), (6, 3, 8, 8)).flops


def test_fedavg_bytes_equal_two_models_per_client_per_round(tmp_path):
    record = run_tiny(tmp_path, rounds=3)
    params = sum(p.numel() for p in simple_cnn(10).parameters())
    totals = record["totals"]
    assert totals["bytes_up"] == totals["bytes_down"] == params * 4 * 2 * 3
    assert totals["bytes_total"] == 2 * params * 4 * 2 * 3
    assert totals["server_flops"] == 0
    # client compute: every training sample went through one metered step
    assert totals["samples"] == 64 * 2 * 3
