"""Split learning: SL-basic, SplitFed V1/V2 and AdaSplit on tiny real runs."""

from __future__ import annotations

import math

import torch

from c3bench import registry
from c3bench.accounting.flops import train_step_cost
from c3bench.adasplit.orchestrator import UCBOrchestrator
from c3bench.aggregation import weighted_average
from c3bench.models import lenet, simple_cnn
from c3bench.runner import Runner, resolve
from c3bench.split import choose_cut
from tests.helpers import run_tiny, tiny_spec


def _method(name: str, **overrides):
    """A method instance on the tiny synthetic federation, built as the runner builds it (to inspect state)."""
    _, ctx, method, _ = Runner(resolve(tiny_spec(name, **overrides)), "unused").build()
    return method, ctx


def test_mu_and_cut_choose_the_client_part():
    assert choose_cut(lenet(10), (3, 32, 32), 0, 0.2) == 1  # the paper's default split
    assert choose_cut(lenet(10), (3, 32, 32), 0, 0.75) == 2
    assert choose_cut(lenet(10), (3, 32, 32), 3, 0.2) == 3  # explicit cut wins


def test_sl_basic_bytes_are_activations_up_gradients_down_labels_and_handovers(tmp_path):
    rounds, n, samples = 2, 2, 64
    record = run_tiny(tmp_path, method="sl-basic", rounds=rounds)
    client_part = simple_cnn(10)[:1]
    activation = client_part(torch.zeros(1, 3, 32, 32)).numel() * 4
    handover = sum(p.numel() for p in client_part.parameters()) * 4
    t = record["totals"]
    assert t["bytes_up"] == (activation + 8) * samples * n * rounds  # activations + int64 labels
    assert t["bytes_down"] == activation * samples * n * rounds  # gradients
    assert t["bytes_peer"] == handover * (n * rounds - 1)  # every turn but the very first
    assert t["bytes_total"] == 2 * activation * samples * n * rounds + 8 * samples * n * rounds + handover * (n * rounds - 1)
    assert record["method_info"]["cut"] == 1 and record["method_info"]["schedule"] == "sequential"


def test_splitfed_v1_averages_the_server_copies_and_client_models():
    method, ctx = _method("splitfed")
    ctx.ledger.begin_round()
    method.run_round(0)
    copies = [s.state_dict() for s in method.servers]
    first = next(iter(copies[0]))
    assert not torch.equal(copies[0][first], copies[1][first])  # they trained apart
    expected = weighted_average(copies, [c.num_train for c in ctx.federation.clients])
    for name, value in method.server_model.state_dict().items():
        torch.testing.assert_close(value, expected[name])
    c0, c1 = (m.state_dict() for m in method.client_models)
    assert all(torch.equal(c0[k], c1[k]) for k in c0)
    params = sum(p.numel() for p in method.client_models[0].parameters())
    activation = method.client_models[0](torch.zeros(1, 3, 32, 32)).numel() * 4
    per_client = ctx.ledger.current[0]
    assert per_client.bytes_down == activation * 64 + params * 4  # gradients + the averaged client model
    assert per_client.bytes_up == (activation + 8) * 64 + params * 4  # activations, labels, its client model


def test_splitfed_v2_trains_one_server_model_with_every_clients_batches():
    for variant in ("v1", "v2"):
        method, ctx = _method("splitfed", variant=variant, batch_size="16")
        ctx.ledger.begin_round()
        method.run_round(0)
        steps = [opt.state[next(iter(opt.state))]["step"].item() for opt in method.server_opts]
        batches = [math.ceil(c.num_train / 16) for c in ctx.federation.clients]
        # V2: one server optimiser stepped by every client's batches; V1: one copy per client, each its own
        assert steps == ([sum(batches)] if variant == "v2" else batches)
        assert method.timing().schedule == ("sequential" if variant == "v2" else "parallel")


def test_adasplit_never_sends_server_to_client_and_kappa_one_sends_nothing(tmp_path):
    record = run_tiny(tmp_path / "a", method="adasplit", rounds=2, kappa="0.5")
    t = record["totals"]
    assert t["bytes_down"] == 0 and t["bytes_up"] > 0 and t["server_flops"] > 0
    assert [r["extra"]["phase"] for r in record["rounds"]] == ["local", "global"]
    assert record["rounds"][0]["cumulative"]["bytes_total"] == 0
    local_only = run_tiny(tmp_path / "b", method="adasplit", rounds=2, kappa="1")
    t = local_only["totals"]
    assert t["bytes_total"] == 0 and t["server_flops"] == 0 and t["client_flops"] > 0


def test_adasplit_eta_one_selects_every_client_every_iteration(tmp_path):
    record = run_tiny(tmp_path, method="adasplit", rounds=1, kappa="0", eta="1")
    iterations = math.ceil(64 / 32)
    assert record["rounds"][0]["extra"]["selected_iterations"] == [iterations, iterations]
    eta_half = run_tiny(tmp_path / "h", method="adasplit", rounds=1, kappa="0", eta="0.5")
    assert sum(eta_half["rounds"][0]["extra"]["selected_iterations"]) == iterations


def test_orchestrator_exploits_the_highest_loss_and_explores_the_never_picked():
    gen = torch.Generator().manual_seed(0)
    orch = UCBOrchestrator(3, gamma=0.87)
    # clients 0 and 1 have been picked with losses 0.5 and 3.0; client 2 never
    for _ in range(4):
        orch.update({0: 0.5, 1: 3.0}, active=[0, 1])
    assert orch.select(1, [0, 1, 2], gen) == [2]  # never picked: explored first
    orch.update({2: 1.0}, active=[0, 1, 2])
    assert orch.select(1, [0, 1], gen) == [1]  # the highest loss wins among the picked
    scores = orch.scores()
    assert scores[1] > scores[0]


def test_larger_lambda_gives_sparser_masks(tmp_path):
    dens = {}
    for lam in ("1e-6", "0.05"):
        record = run_tiny(tmp_path / lam, method="adasplit", rounds=2, kappa="0", eta="1", **{"lambda": lam})
        dens[lam] = sum(record["rounds"][-1]["extra"]["mask_mean_gate"])
    assert dens["0.05"] < dens["1e-6"]


def test_activation_l1_lowers_the_bytes_sent(tmp_path):
    plain = run_tiny(tmp_path / "a", method="adasplit", rounds=1, kappa="0", encoding="sparse")
    sparse = run_tiny(tmp_path / "b", method="adasplit", rounds=1, kappa="0", beta="0.05")
    assert sparse["config"]["method_params"]["encoding"] == "sparse"  # auto -> sparse when beta > 0
    assert sparse["totals"]["bytes_up"] < plain["totals"]["bytes_up"]
    assert sparse["totals"]["paper_bytes_total"] < plain["totals"]["paper_bytes_total"]


def test_adasplit_client_step_costs_the_client_part_only_and_touches_one_mask():
    method, ctx = _method("adasplit", kappa="0", eta="0.5")
    ctx.ledger.begin_round()
    x = torch.randn(32, 3, 32, 32)
    y = torch.arange(32) % 4
    assert method.iteration(0, x, y, to_server=False) is None
    step = train_step_cost(torch.nn.Sequential(method.client_models[0]["model"], method.client_models[0]["head"]), (32, 3, 32, 32))
    assert ctx.ledger.current[0].client_flops >= step.flops  # client part + head (+ the loss's matmul)
    assert ctx.ledger.current[0].client_flops < 2 * step.flops
    assert ctx.ledger.current[0].server_flops == 0 and ctx.ledger.current[0].bytes_total == 0
    before = [m.detach().clone() for m in method.masks.logits[1]]
    a = method.client_models[0]["model"](x).detach()
    ce, grad = method.server_step(0, a, y, want_grad=False)
    assert grad is None and ce > 0
    assert all(torch.equal(b, m) for b, m in zip(before, method.masks.logits[1], strict=True))
    assert not method.mask_opts[1].state  # client 1's mask optimiser never stepped
    assert method.masks.numel_per_client() == sum(p.numel() for p in method.server_model.parameters())


def test_every_split_method_is_registered_with_paper_defaults():
    names = registry.methods()
    assert {"sl-basic", "splitfed", "adasplit"} <= set(names)
    ada = {p.name: p.default for p in names["adasplit"].hparams}
    assert (ada["kappa"], ada["eta"], ada["gamma"], ada["mu"], ada["lr"], ada["batch_size"]) == (0.6, 0.6, 0.87, 0.2, 1e-3, 32)
    assert resolve(tiny_spec("adasplit")).method_params["lambda"] == 1e-5
