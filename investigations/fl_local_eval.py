"""How a federated run's accuracy changes with what is evaluated: the global model or each client's local one.

c3bench scores an FL method by its *global* model on every client's test split (what the method
deploys). Some FL code bases report instead the accuracy of each client's model right after its
local training, on that client's own test split. On label-skewed protocols the two differ widely;
this script measures both for the last round of a c3bench FL record:

    python investigations/fl_local_eval.py RECORD.json [--checkpoint CK.pt] [--data-root DIR]

Without ``--checkpoint`` it replays the record's first R-1 rounds (same seed, settings and thread
count, so the replay matches the record, which it checks) and then plays round R by hand: each
client trains from the global model as in the run, and its local model is evaluated before any
aggregation. With a runner checkpoint taken after round k, it starts there and plays round k+1.
Nothing is written except the JSON printed with ``--json``.
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
from typing import Any

import torch

from c3bench.data.batches import to_float
from c3bench.federated import ClientJob, FederatedMethod
from c3bench.runner import Runner, evaluate, resolve
from c3bench.verify import spec_of


def accuracy(model: torch.nn.Module, client: Any, batch_size: int = 1000) -> float:
    """Top-1 accuracy (%) of ``model`` on ``client``'s test split."""
    model.eval()
    correct = 0
    with torch.no_grad():
        for start in range(0, client.num_test, batch_size):
            x = to_float(client.x_test[start:start + batch_size], client.normalization)
            correct += int((model(x).argmax(dim=1) == client.y_test[start:start + batch_size]).sum())
    return 100.0 * correct / max(client.num_test, 1)


def local_evaluation(record: dict[str, Any], checkpoint: str | None = None,
                     data_root: str | None = None) -> dict[str, Any]:
    """Global and local-model accuracies of the round after ``checkpoint`` (or of the record's last round)."""
    threads = record.get("environment", {}).get("torch_threads")
    if threads:
        torch.set_num_threads(int(threads))
    runner = Runner(resolve(spec_of(record, data_root)), out_dir="/nonexistent-not-written")
    federation, ctx, method, _ = runner.build()
    if not isinstance(method, FederatedMethod):
        raise SystemExit(f"{record['config']['method']} is not a federated method: nothing local to evaluate.")
    logged = [r["accuracy"]["mean"] for r in record["rounds"]]
    if checkpoint:
        state = torch.load(checkpoint, weights_only=False)
        method.load_state_dict(state["method"])
        torch.set_rng_state(state["torch_rng"])
        done = state["rounds"] if "rounds" in state else len(state["record"]["rounds"])  # older checkpoints
    else:
        done = len(record["rounds"]) - 1
        for r in range(done):
            ctx.ledger.begin_round()
            method.run_round(r)
            ctx.ledger.end_round()
    with ctx.ledger.uncharged():
        before = evaluate(method, federation, ctx.device).per_client
    replay_matches = done == 0 or abs(sum(before) / len(before) - logged[done - 1]) < 1e-9
    ctx.ledger.begin_round()
    global_state = method.global_model.state_dict()
    local = []
    for i, client in enumerate(federation.clients):
        update = method.train_client(ClientJob(i, done, {"model": global_state}, 0, 1))
        model = copy.deepcopy(method.local_model)
        model.load_state_dict(update.model)
        local.append(accuracy(model, client))
    return {
        "record": record["name"], "method": record["config"]["method"], "round": done + 1,
        "global_before_round": before, "global_logged_after_previous_round": logged[done - 1] if done else None,
        "replay_matches_record": replay_matches,
        "local_after_training": local,
        "global_mean": sum(before) / len(before), "local_mean": sum(local) / len(local),
        "logged_after_round": logged[done] if done < len(logged) else None,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("record")
    parser.add_argument("--checkpoint", help="a runner checkpoint (results/.checkpoints/NAME.pt) to start from")
    parser.add_argument("--data-root", help="data folder (default: C3BENCH_DATA)")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    args = parser.parse_args(argv)
    with open(args.record) as f:
        record = json.load(f)
    out = local_evaluation(record, args.checkpoint, args.data_root)
    if args.json:
        print(json.dumps(out, indent=2))
        return 0
    print(f"{out['method']}, round {out['round']}: replay matches the record: {out['replay_matches_record']}")
    for i, (g, loc) in enumerate(zip(out["global_before_round"], out["local_after_training"], strict=True)):
        print(f"  client {i}: global model {g:6.2f}%   its local model after training {loc:6.2f}%")
    print(f"  mean: global {out['global_mean']:.2f}%   local {out['local_mean']:.2f}%")
    return 0


if __name__ == "__main__":
    sys.exit(main())
