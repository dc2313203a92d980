"""Backbones, the fast LRN, splitting, and vectorised batching."""

from __future__ import annotations

import torch
from torch import nn

from c3bench.data.batches import batch_indices, make_batch, random_crop_flip
from c3bench.federation import Normalization
from c3bench.models import FastLocalResponseNorm, lenet, split_backbone


def test_fast_lrn_equals_torch_lrn_in_values_and_gradients():
    torch.manual_seed(0)
    x = torch.randn(4, 20, 9, 9, requires_grad=True)
    x2 = x.detach().clone().requires_grad_(True)
    for size in (2, 3, 4, 5):
        ref, fast = nn.LocalResponseNorm(size), FastLocalResponseNorm(size)
        torch.testing.assert_close(fast(x), ref(x), rtol=1e-6, atol=1e-6)
        g = torch.randn(4, 20, 9, 9)
        (gx,) = torch.autograd.grad(ref(x), x, g)
        (gx2,) = torch.autograd.grad(fast(x2), x2, g)
        torch.testing.assert_close(gx2, gx, rtol=1e-5, atol=1e-6)


def test_split_gives_client_and_server_parts_that_compose_to_the_whole():
    model = lenet(10)
    client, server = split_backbone(model, 1)
    x = torch.randn(2, 3, 32, 32)
    assert client(x).shape == (2, 20, 16, 16)  # 5,120 floats per image at the paper's cut
    torch.testing.assert_close(server(client(x)), model(x))


def test_batches_cover_the_epoch_once_and_are_reproducible():
    g1, g2 = torch.Generator().manual_seed(5), torch.Generator().manual_seed(5)
    a = torch.cat(list(batch_indices(103, 10, g1)))
    b = torch.cat(list(batch_indices(103, 10, g2)))
    assert torch.equal(a, b) and sorted(a.tolist()) == list(range(103))


def test_random_crop_flip_is_a_shifted_window_of_the_zero_padded_image():
    x = torch.arange(2 * 3 * 8 * 8, dtype=torch.int64).reshape(2, 3, 8, 8).to(torch.uint8)
    gen = torch.Generator().manual_seed(0)
    out = random_crop_flip(x, gen, padding=2)
    padded = torch.nn.functional.pad(x, (2, 2, 2, 2))
    for i in range(2):
        windows = [padded[i, :, r:r + 8, c:c + 8] for r in range(5) for c in range(5)]
        candidates = windows + [w.flip(-1) for w in windows]
        assert any(torch.equal(out[i], w) for w in candidates)


def test_make_batch_normalises():
    x = torch.full((3, 3, 4, 4), 255, dtype=torch.uint8)
    xb, yb = make_batch(x, torch.tensor([0, 1, 2]), torch.tensor([2, 0]), Normalization((0.5,) * 3, (0.25,) * 3))
    assert torch.allclose(xb, torch.full_like(xb, 2.0)) and yb.tolist() == [2, 0]
