"""Why sequential split runs (SL-basic, SplitFed V2) slow down round after round on CPU: subnormal floats.

A server weight whose gradient stays zero (its unit never fires) gets only Adam's L2 weight-decay
term, g = wd * w. Once |g| is far below Adam's eps the step is lr * wd / eps * w, so the weight (and
its first moment) shrinks geometrically into the subnormal range (below 1.18e-38), where CPU float
arithmetic is many times slower. A single server model stepped on every client's batch
reaches it within a few rounds; SplitFed V1's per-client copies, averaged each round, did not.

    python investigations/denormals.py mechanism
    python investigations/denormals.py checkpoint RESULTS/.checkpoints/RUN.pt

``mechanism`` shows the decay on one Adam-trained tensor with zero gradients (a few seconds).
``checkpoint`` counts subnormals in a runner checkpoint's models and optimizer moments and, for a
split method's server model, times one training step with the checkpoint's state, with and without
``torch.set_flush_denormal(True)``. Nothing is written.
"""

from __future__ import annotations

import argparse
import copy
import time
from pathlib import Path

import torch

SMALLEST_NORMAL = torch.finfo(torch.float32).tiny


def subnormal_count(tensors) -> tuple[int, int]:
    """(subnormal entries, all entries) over the floating-point tensors given."""
    sub = total = 0
    for t in tensors:
        if torch.is_tensor(t) and t.is_floating_point():
            a = t.detach().abs()
            sub += int(((a > 0) & (a < SMALLEST_NORMAL)).sum())
            total += t.numel()
    return sub, total


def optimizer_moments(opt: torch.optim.Optimizer) -> list[torch.Tensor]:
    return [v for state in opt.state.values() for v in state.values() if torch.is_tensor(v)]


def mechanism(steps: int = 3000) -> float:
    """Train one tensor with zero gradients under Adam and weight decay; the subnormal fraction at the end."""
    torch.manual_seed(0)
    w = torch.nn.Parameter(torch.randn(100_000) * 0.01)
    opt = torch.optim.Adam([w], lr=1e-3, weight_decay=1e-5)  # the AdaSplit authors' optimizer settings
    for step in range(1, steps + 1):
        opt.zero_grad()
        w.grad = torch.zeros_like(w)  # a dead unit: only weight decay acts
        opt.step()
        if step % 500 == 0:
            sub, n = subnormal_count([w])
            print(
                f"step {step:5d}: max |w| {w.abs().max().item():.2e}, subnormal {sub / n:.1%} of weights, "
                f"{subnormal_count(optimizer_moments(opt))[0] / (2 * n):.1%} of Adam moments"
            )
    sub, n = subnormal_count([w])
    return sub / n


def time_step(
    model: torch.nn.Module, opt_state: dict, in_shape: tuple[int, ...], classes: int, n: int = 30
) -> float:
    model = copy.deepcopy(model)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, weight_decay=1e-5)
    opt.load_state_dict(opt_state)
    torch.manual_seed(0)
    x, y = torch.relu(torch.randn(32, *in_shape)), torch.randint(0, classes, (32,))
    start = time.perf_counter()
    for _ in range(n):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
    return (time.perf_counter() - start) / n * 1000


def checkpoint(path: str, in_shape: tuple[int, ...]) -> dict[str, float]:
    """Print subnormal counts of a runner checkpoint; return the server step's ms by flush setting."""
    state = torch.load(path, weights_only=False)["method"]
    timings: dict[str, float] = {}
    for key, value in state.items():
        items = value if isinstance(value, list) else [value]
        for i, item in enumerate(items):
            if isinstance(item, torch.nn.Module):
                tensors = list(item.parameters())
            elif isinstance(item, torch.optim.Optimizer):
                tensors = optimizer_moments(item)
            else:
                continue
            sub, n = subnormal_count(tensors)
            print(f"{key}[{i}] ({type(item).__name__}): {sub:,} of {n:,} subnormal ({sub / max(n, 1):.1%})")
    server = state.get("server_model")
    opts = state.get("server_opts") or [None]  # every split method keeps a list
    if isinstance(server, torch.nn.Module) and isinstance(opts[0], torch.optim.Optimizer):
        last = [m for m in server.modules() if isinstance(m, torch.nn.Linear)][-1]
        for flush in (False, True):
            if not torch.set_flush_denormal(flush) and flush:
                print("this CPU cannot flush subnormals to zero")
                break
            ms = time_step(server, opts[0].state_dict(), in_shape, last.out_features)
            print(f"server step, batch 32, flush_denormal={flush}: {ms:.1f} ms")
            timings[f"flush={flush}"] = ms
        torch.set_flush_denormal(False)
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="what", required=True)
    sub.add_parser("mechanism")
    ck = sub.add_parser("checkpoint")
    ck.add_argument("path")
    ck.add_argument(
        "--input-shape", default="20,16,16", help="the server's input per image (default: LeNet cut 1)"
    )
    args = parser.parse_args()
    if args.what == "checkpoint" and not Path(args.path).is_file():
        parser.error(
            f"{args.path}: no such checkpoint (runs keep theirs in OUT/.checkpoints/ while unfinished)"
        )
    torch.set_num_threads(1)
    if args.what == "mechanism":
        mechanism()
    else:
        checkpoint(args.path, tuple(int(d) for d in args.input_shape.split(",")))


if __name__ == "__main__":
    main()
