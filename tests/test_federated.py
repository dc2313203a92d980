"""FedAvg, FedProx, SCAFFOLD and FedNova on tiny real problems, checked against independent loops
and the papers' formulas."""

from __future__ import annotations

import dataclasses
import math

import pytest
import torch
import torch.nn.functional as F

from c3bench.federation import Federation
from c3bench.hparams import ConfigError
from c3bench.method import derive_seed
from c3bench.methods.fednova import normalizer
from c3bench.models import build_backbone
from c3bench.results import strip_volatile
from c3bench.runner import Callbacks, Runner, resolve
from tests.helpers import run_tiny, tiny_spec

pytestmark = pytest.mark.usefixtures("one_thread")




SGD = {"optimizer": "sgd", "lr": "0.05", "momentum": "0.9", "batch_size": "16"}


def _recording(cls):
    """The method as it is, plus a log of what the server held at each aggregation."""

    class Recording(cls):
        def __init__(self, ctx):
            super().__init__(ctx)
            self.log = []

        def aggregate(self, arrivals):
            self.log.append({
                "x": {k: v.clone() for k, v in self.global_model.state_dict().items()},
                "clients": [(a.client, a.num_samples, {k: v.clone() for k, v in a.model.items()}, a.extra)
                            for a in arrivals],
            })
            super().aggregate(arrivals)

    return Recording


def build(tmp_path, method="fedavg", federation=None, record=False, seed=0, **overrides):
    """(federation, ctx, method) exactly as the runner builds them, without running."""
    resolved = resolve(tiny_spec(method, seed=seed, **overrides))
    if record:
        resolved = dataclasses.replace(resolved, method_cls=_recording(resolved.method_cls))
    return Runner(resolved, tmp_path, federation=federation).build()[:3]


def train(ctx, method, rounds, start=0):
    extras = []
    for r in range(start, start + rounds):
        ctx.ledger.begin_round()
        extras.append(method.run_round(r))
        ctx.ledger.end_round()
    return extras


def state(method):
    return {k: v.clone() for k, v in method.global_model.state_dict().items()}


def assert_states(a, b, exact=True, atol=1e-6):
    assert a.keys() == b.keys()
    for k in a:
        if exact:
            assert torch.equal(a[k], b[k]), k
        else:
            torch.testing.assert_close(a[k], b[k], rtol=1e-5, atol=atol, msg=lambda m, k=k: f"{k}: {m}")


def unequal_federation(tmp_path, sizes=(64, 16)):
    """The tiny synthetic federation with client i cut to sizes[i] training images."""
    fed, _, _ = build(tmp_path)
    clients = [dataclasses.replace(c, x_train=c.x_train[:n], y_train=c.y_train[:n]) for c, n in zip(fed.clients, sizes, strict=True)]
    return Federation(clients=clients, num_classes=fed.num_classes, augment=False)


# ------------------------------------------------------------------ FedAvg and FedProx vs a plain loop
@pytest.mark.parametrize("method,optimizer,mu", [("fedavg", "adam", 0.0), ("fedavg", "sgd", 0.0),
                                                 ("fedprox", "sgd", 0.5)])
def test_one_client_equals_centralised_training_step_for_step(tmp_path, method, optimizer, mu):
    rounds, epochs, bs, lr, wd = 3, 2, 16, 0.02 if optimizer == "sgd" else 1e-3, 1e-4
    extra = {"mu": str(mu)} if method == "fedprox" else {}
    fed, ctx, m = build(tmp_path, method, num_clients="1", optimizer=optimizer, lr=str(lr), batch_size=str(bs),
                        local_epochs=str(epochs), weight_decay=str(wd), momentum="0.9", **extra)
    data = fed.clients[0]

    # the centralised loop, written independently: same initialisation, same batches (the client's
    # stream of each round), the optimiser restarted each round (a client builds a new one per visit),
    # the proximal term to the round's start
    torch.manual_seed(0)
    model = build_backbone("simple-cnn", fed.num_classes)
    mean = torch.tensor(data.normalization.mean).view(1, 3, 1, 1)
    std = torch.tensor(data.normalization.std).view(1, 3, 1, 1)
    for r in range(rounds):
        if optimizer == "adam":
            opt = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=wd, fused=True)
        else:
            opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9, weight_decay=wd)
        start = [p.detach().clone() for p in model.parameters()]
        gen = torch.Generator().manual_seed(derive_seed(0, "client", 0, r))
        for _ in range(epochs):
            for idx in torch.randperm(data.num_train, generator=gen).split(bs):
                x = (data.x_train[idx].float() / 255.0 - mean) / std
                loss = F.cross_entropy(model(x), data.y_train[idx])
                loss = loss + mu / 2 * sum(((p - s) ** 2).sum() for p, s in zip(model.parameters(), start, strict=True))
                opt.zero_grad()
                loss.backward()
                opt.step()
        train(ctx, m, 1, start=r)
        assert_states(state(m), model.state_dict(), exact=mu == 0)


def test_fedprox_with_mu_zero_is_fedavg_and_mu_pulls_towards_the_global_model(tmp_path):
    _, ctx_a, avg = build(tmp_path / "a", "fedavg", **SGD)
    _, ctx_p, prox0 = build(tmp_path / "p", "fedprox", mu="0", **SGD)
    _, ctx_q, prox1 = build(tmp_path / "q", "fedprox", mu="1", **SGD)
    start = state(avg)
    train(ctx_a, avg, 2)
    train(ctx_p, prox0, 2)
    assert_states(state(avg), state(prox0))  # bitwise
    train(ctx_q, prox1, 1)
    avg_once = build(tmp_path / "b", "fedavg", **SGD)
    train(avg_once[1], avg_once[2], 1)

    def moved(m):
        return sum(((v - start[k]) ** 2).sum() for k, v in state(m).items())

    assert 0 < moved(prox1) < 0.9 * moved(avg_once[2])


# ------------------------------------------------------------------ SCAFFOLD
def test_scaffold_first_round_is_fedavg_then_the_correction_acts(tmp_path):
    _, ctx_a, avg = build(tmp_path / "a", "fedavg", **SGD)
    _, ctx_s, sca = build(tmp_path / "s", "scaffold", **SGD)
    train(ctx_a, avg, 1)
    train(ctx_s, sca, 1)
    assert_states(state(avg), state(sca))  # zero control variates: bitwise FedAvg
    train(ctx_a, avg, 1, start=1)
    train(ctx_s, sca, 1, start=1)
    assert not torch.equal(state(avg)["head.weight"], state(sca)["head.weight"])


def test_scaffold_control_variates_follow_option_ii(tmp_path):
    lr = 0.05
    _, ctx, sca = build(tmp_path, "scaffold", record=True, **{**SGD, "momentum": "0"})
    train(ctx, sca, 1)
    (log,) = sca.log
    x = log["x"]
    steps = math.ceil(ctx.federation.clients[0].num_train / 16)
    for client, _, y, extra in log["clients"]:
        for name in sca.server_c:
            expected = (x[name] - y[name]) / (steps * lr)  # c_i + (x - y)/(K lr) - c with c = c_i = 0
            torch.testing.assert_close(sca.client_state[client][name], expected)
            torch.testing.assert_close(extra["delta_c"][name], expected)  # what came up the channel
    for name, c in sca.server_c.items():  # |S| = N: c = mean of delta c_i
        torch.testing.assert_close(c, (sca.client_state[0][name] + sca.client_state[1][name]) / 2)

    # round 2, client 0, replayed by hand: y <- y - lr * (g(y) + c - c_0) on the same batches
    gen = ctx.stream("client", 0, 1)
    c = {k: v.clone() for k, v in sca.server_c.items()}
    c0 = {k: v.clone() for k, v in sca.client_state[0].items()}
    model = build_backbone("simple-cnn", ctx.federation.num_classes)
    model.load_state_dict(state(sca))
    data = ctx.federation.clients[0]
    mean = torch.tensor(data.normalization.mean).view(1, 3, 1, 1)
    std = torch.tensor(data.normalization.std).view(1, 3, 1, 1)
    for idx in torch.randperm(data.num_train, generator=gen).split(16):
        x_batch = (data.x_train[idx].float() / 255.0 - mean) / std
        model.zero_grad()
        F.cross_entropy(model(x_batch), data.y_train[idx]).backward()
        with torch.no_grad():
            for name, p in model.named_parameters():
                p -= lr * (p.grad + c[name] - c0[name])
    train(ctx, sca, 1, start=1)
    uploaded = sca.log[1]["clients"][0]
    assert uploaded[0] == 0
    assert_states(uploaded[2], model.state_dict(), exact=False, atol=1e-5)


def test_scaffold_server_variate_is_the_mean_of_client_variates_under_sampling(tmp_path):
    # c += |S|/N * mean(delta c_i) keeps c = (1/N) sum_i c_i, whoever is sampled
    _, ctx, sca = build(tmp_path, "scaffold", num_clients="4", train_per_client="32", sample_fraction="0.5", **SGD)
    for r in range(3):
        (extra,) = train(ctx, sca, 1, start=r)
        assert len(extra["selected"]) == 2
        for name, c in sca.server_c.items():
            total = sum(sca.client_state.get(i, {}).get(name, torch.zeros_like(c)) for i in range(4))
            torch.testing.assert_close(c, total / 4)
    assert any(c.abs().sum() > 0 for c in sca.server_c.values())


class _StopAfterRound2(Callbacks):
    def on_round(self, entry):
        if entry["round"] == 2:
            raise KeyboardInterrupt


def test_scaffold_state_survives_interrupt_and_resume(tmp_path):
    # the client control variates live in the method's state, so a resumed run continues exactly
    kwargs = {"method": "scaffold", "rounds": 3, "seed": 2, **SGD}
    full = run_tiny(tmp_path / "full", **kwargs)
    with pytest.raises(KeyboardInterrupt):
        run_tiny(tmp_path / "cut", callbacks=_StopAfterRound2(), **kwargs)
    resumed = run_tiny(tmp_path / "cut", resume=True, **kwargs)
    assert strip_volatile(resumed["rounds"]) == strip_volatile(full["rounds"])


# ------------------------------------------------------------------ FedNova
def test_fednova_normaliser_is_the_papers_momentum_formula():
    for tau in (1, 2, 7, 50):
        for rho in (0.5, 0.9):
            closed = (tau - rho * (1 - rho**tau) / (1 - rho)) / (1 - rho)
            assert normalizer(tau, "sgd", rho) == pytest.approx(closed, rel=1e-12)
        assert normalizer(tau, "sgd", 0.0) == tau
        assert normalizer(tau, "adam", 0.9) == tau
    assert normalizer(2, "sgd", 0.9) == pytest.approx(1 + 1.9)


def test_fednova_with_equal_steps_is_fedavg(tmp_path):
    _, ctx_a, avg = build(tmp_path / "a", "fedavg", **SGD)
    _, ctx_n, nova = build(tmp_path / "n", "fednova", **SGD)
    train(ctx_a, avg, 2)
    train(ctx_n, nova, 2)
    assert_states(state(avg), state(nova), exact=False)


def test_fednova_with_unequal_steps_follows_the_normalised_update(tmp_path):
    sizes, bs, epochs, rho = (64, 16), 16, 2, 0.9
    fed = unequal_federation(tmp_path / "f", sizes)
    _, ctx, nova = build(tmp_path, "fednova", federation=fed, record=True, local_epochs=str(epochs), **SGD)
    train(ctx, nova, 1)
    (log,) = nova.log
    x = log["x"]
    p = [n / sum(sizes) for n in sizes]
    taus = [epochs * math.ceil(n / bs) for n in sizes]
    a = [(t - rho * (1 - rho**t) / (1 - rho)) / (1 - rho) for t in taus]
    assert [float(c[3]["a"]) for c in log["clients"]] == pytest.approx(a)  # what came up the channel
    tau_eff = sum(pi * ai for pi, ai in zip(p, a, strict=True))
    ys = [c[2] for c in log["clients"]]
    expected = {k: x[k] - tau_eff * sum(pi * (x[k] - y[k]) / ai for pi, y, ai in zip(p, ys, a, strict=True)) for k in x}
    assert_states(state(nova), expected, exact=False)
    fedavg_like = {k: sum(pi * y[k] for pi, y in zip(p, ys, strict=True)) for k in x}
    assert not torch.allclose(state(nova)["head.weight"], fedavg_like["head.weight"], atol=1e-4)


# ------------------------------------------------------------------ weights, bytes, sampling
def test_aggregation_weights_are_data_sizes(tmp_path):
    sizes = (64, 16)
    fed = unequal_federation(tmp_path / "f", sizes)
    _, ctx, avg = build(tmp_path, "fedavg", federation=fed, record=True, **SGD)
    train(ctx, avg, 1)
    ys = {c[0]: c[2] for c in avg.log[0]["clients"]}
    assert [c[1] for c in avg.log[0]["clients"]] == list(sizes)
    weighted = {k: (64 * ys[0][k] + 16 * ys[1][k]) / 80 for k in ys[0]}
    assert_states(state(avg), weighted, exact=False)
    plain = {k: (ys[0][k] + ys[1][k]) / 2 for k in ys[0]}
    assert not torch.allclose(state(avg)["head.weight"], plain["head.weight"], atol=1e-5)


def test_bytes_equal_the_analytic_totals(tmp_path):
    clients, rounds = 2, 2
    params = sum(t.numel() for t in build_backbone("simple-cnn", 10).state_dict().values())
    trainable = sum(p.numel() for p in build_backbone("simple-cnn", 10).parameters())
    totals = {}
    for method in ("fedavg", "fedprox", "scaffold", "fednova"):
        record = run_tiny(tmp_path / method, method=method, rounds=rounds, **SGD)
        totals[method] = record["totals"]
        for r in record["rounds"]:  # every client, every round: one message down, one up
            for c in r["per_client"]:
                assert c["messages_up"] == 1 and c["messages_down"] == 1
    fedavg = 2 * params * 4 * clients * rounds
    assert totals["fedavg"]["bytes_total"] == fedavg
    assert totals["fedavg"]["bytes_up"] == totals["fedavg"]["bytes_down"] == fedavg // 2
    assert totals["fedprox"]["bytes_total"] == fedavg
    assert totals["scaffold"]["bytes_total"] == fedavg + 2 * trainable * 4 * clients * rounds == 2 * fedavg
    assert totals["fednova"]["bytes_total"] == fedavg + 4 * clients * rounds  # ||a_i||_1, one float32 up
    # the authors' convention counts non-zeros: SCAFFOLD's first c (all zeros) costs nothing there
    assert totals["scaffold"]["paper_bytes_total"] < totals["scaffold"]["bytes_total"]


def test_sampling_picks_the_right_number_reproducibly_and_charges_only_them(tmp_path):
    common = {"num_clients": "4", "train_per_client": "32", "sample_fraction": "0.5", **SGD}
    picks = []
    for run in ("a", "b"):
        _, ctx, avg = build(tmp_path / run, "fedavg", **common)
        chosen = []
        for r in range(4):
            ctx.ledger.begin_round()
            selected = avg.run_round(r)["selected"]
            per_client = ctx.ledger.end_round()
            assert len(selected) == 2 == len(set(selected))
            for i, c in enumerate(per_client):
                assert (c.bytes_total > 0) == (i in selected) == (c.client_flops > 0) == (c.samples > 0)
            chosen.append(tuple(selected))
        picks.append(chosen)
    assert picks[0] == picks[1]
    assert len(set(picks[0])) > 1
    _, ctx, other = build(tmp_path / "c", "fedavg", seed=1, **common)
    assert [tuple(x["selected"]) for x in train(ctx, other, 4)] != picks[0]


# ------------------------------------------------------------------ clients stacked into one model
@pytest.mark.parametrize("method,backbone,settings,atol", [
    # Adam divides by sqrt(v): a gradient near zero turns rounding into up to ~lr per step; 1e-4 is 1/80 of
    # the 8 steps' possible drift at lr 1e-3
    ("fedavg", "lenet", {"batch_size": "16", "lr": "0.001"}, 1e-4),  # the LRN under vmap
    ("fedavg", "simple-cnn", {**SGD, "local_epochs": "2"}, 1e-5),
    ("fednova", "simple-cnn", {"batch_size": "16", "num_clients": "3"}, 1e-4),
])
def test_stacked_clients_train_as_the_serial_loop_does(tmp_path, method, backbone, settings, atol):
    runs = []
    for stacked in (False, True):
        _, ctx, m = build(tmp_path / str(stacked), method, stack_clients=stacked, backbone=backbone, **settings)
        train(ctx, m, 2)
        runs.append((state(m), ctx.ledger.finished.as_dict(), type(ctx.clients).__name__))
    (serial, serial_counts, serial_kind), (stacked, stacked_counts, stacked_kind) = runs
    assert (serial_kind, stacked_kind) == ("SerialClients", "StackedClients")
    assert stacked_counts == serial_counts and serial_counts["client_flops"] > 0  # bytes, FLOPs, samples exact
    assert_states(serial, stacked, exact=False, atol=atol)
    assert not torch.equal(serial["head.weight"], build(tmp_path / "fresh", method, backbone=backbone,
                                                        **settings)[2].global_model.state_dict()["head.weight"])


def test_a_stacked_run_says_so_in_its_record_and_its_command(tmp_path):
    record = run_tiny(tmp_path, stack_clients=True)
    assert record["execution"]["client_stacking"] is True and record["command"].endswith("--stack-clients")
    assert "client_stacking" not in run_tiny(tmp_path / "serial")["execution"]


@pytest.mark.parametrize("method,reason", [("fedprox", "local_penalty"), ("scaffold", "after_step"),
                                           ("sl-basic", "not a federated method")])
def test_stacking_is_refused_for_a_method_that_changes_the_local_step(tmp_path, method, reason):
    with pytest.raises(ConfigError, match=reason):
        build(tmp_path, method, stack_clients=True)


def test_stacking_is_refused_for_unequal_clients_and_with_worker_processes(tmp_path):
    _, _, method = build(tmp_path / "u", federation=unequal_federation(tmp_path / "f"))
    assert "different amounts of data" in method.stacking_refusal()
    with pytest.raises(ConfigError, match="drop --client-workers"):
        resolve(tiny_spec(stack_clients=True, client_workers=2))
