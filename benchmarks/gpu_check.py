"""Everything the speed issue asks of a GPU, checked in one call (the device machine gives one call).

Usage on a GPU machine (from the repository root, data beside it or under ``shared/data``):

    python benchmarks/gpu_check.py --out "$OUT" --data-root shared/data --jobs 8

Dry run here, on CPU (the same code paths, CPU against CPU, seconds):

    python benchmarks/gpu_check.py --out /tmp/gpu-check --device cpu --suite-table synthetic-quick --jobs 2

Parts, each written to ``--out/gpu_check.json`` as soon as it is done (a cut-off call keeps what ran):

1. **parity**: every row of Table 2 (the paper's settings of each method) trains ``--rounds`` rounds of
   the synthetic protocol with the LeNet, once on CPU and once on ``--device``. Bytes, messages, FLOPs,
   MACs and samples must be equal exactly (accounting comes from shapes and real tensors, not from
   the device); the accuracy difference is reported and flagged above ``--accuracy-tolerance`` points.
2. **host synchronisations** (CUDA only): one more round per method under
   ``torch.cuda.set_sync_debug_mode("warn")``; the number of synchronising calls per training step
   is reported (the goal is none per step).
3. **suite**: ``c3bench reproduce adasplit-table2 --seeds 0 -j JOBS --device DEVICE`` on the real
   data, timed end to end (the goal is 5 minutes on one H200), records kept under ``--out/suite-adasplit-table2`` to
   be submitted from the session (they carry the commit they ran from; submit them only if it is a
   clean, committed one).

FedAvg and FedNova also run with their clients stacked into one model (``--stack-clients``) on the
device: the same exact accounting, the accuracy gap, and the wall time beside the per-client loop's.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import torch

from c3bench import configs, registry
from c3bench.runner import Runner, RunSpec, resolve

EXACT = ("bytes_up", "bytes_down", "bytes_peer", "bytes_total", "paper_bytes_total", "messages_up",
         "messages_down", "messages_peer", "client_flops", "server_flops", "total_flops", "client_fwd_macs",
         "server_fwd_macs", "total_fwd_macs", "samples", "rounds_completed")
STACKABLE = ("fedavg", "fednova")  # federated methods without per-step hooks (--stack-clients)
TINY = {"protocol.num_clients": 5, "protocol.test_per_client": 128}


def table_rows(only: list[str] | None = None, table: str = "adasplit-table2") -> list[tuple[str, str, dict[str, Any]]]:
    """(row name, method, method parameters) for the rows of a named table (all, or ``only``), at its settings."""
    study, _ = configs.get_config(table)
    rows = []
    for run in (study.row(r) for r in only) if only else study.runs:
        cls = registry.get_method(run.method)
        params = study.method_params_for(run, cls.family, set(registry.space(cls).names()))
        rows.append((run.name, run.method, params))
    return rows


def train(method: str, params: dict[str, Any], device: str, rounds: int, out: Path,
          samples: int = 512, stacked: bool = False) -> dict[str, Any]:
    """One small synthetic run of ``method`` at ``params`` on ``device`` (``samples`` per client; its
    clients stacked into one model with ``stacked``); its record."""
    overrides = {**TINY, "protocol.train_per_client": samples, **{f"method.{k}": v for k, v in params.items()}}
    spec = RunSpec(method=method, protocol="synthetic", overrides=overrides, rounds=rounds, seed=0,
                   backbone="lenet", device=device, stack_clients=stacked)
    return Runner(resolve(spec), out).execute(overwrite=True)


def parity(device: str, rounds: int, out: Path, tolerance: float, rows: list[str] | None = None,
           samples: int = 512) -> list[dict[str, Any]]:
    """Table 2's rows on CPU and on ``device``: exact accounting, accuracy within ``tolerance``."""
    results = []
    for name, method, params in table_rows(rows):
        cpu = train(method, params, "cpu", rounds, out / "cpu" / name, samples)["totals"]
        start = time.perf_counter()
        dev = train(method, params, device, rounds, out / "device" / name, samples)["totals"]
        wall = round(time.perf_counter() - start, 2)
        mismatched = {k: (cpu.get(k), dev.get(k)) for k in EXACT if cpu.get(k) != dev.get(k)}
        gap = abs(cpu["accuracy"] - dev["accuracy"])
        result = {"row": name, "method": method, "accounting_equal": not mismatched,
                  "mismatched": mismatched, "accuracy_cpu": cpu["accuracy"],
                  "accuracy_device": dev["accuracy"], "accuracy_gap": gap,
                  "accuracy_within_tolerance": gap <= tolerance, "device_wall_s": wall}
        if method in STACKABLE:  # the clients of a round as one stacked model, on the device
            start = time.perf_counter()
            stacked = train(method, params, device, rounds, out / "stacked" / name, samples, stacked=True)["totals"]
            result["stacked"] = {"accounting_equal": all(cpu.get(k) == stacked.get(k) for k in EXACT),
                                 "accuracy": stacked["accuracy"],
                                 "accuracy_within_tolerance": abs(cpu["accuracy"] - stacked["accuracy"]) <= tolerance,
                                 "wall_s": round(time.perf_counter() - start, 2)}
        results.append(result)
        print(f"parity {name}: accounting {'equal' if not mismatched else 'DIFFERS ' + str(mismatched)}, "
              f"accuracy {cpu['accuracy']:.2f} (cpu) / {dev['accuracy']:.2f} ({device})", flush=True)
    return results


def host_syncs(device: str, out: Path, rows: list[str] | None = None) -> list[dict[str, Any]]:
    """Synchronising CUDA calls per training step of one round of each row (CUDA only)."""
    results = []
    for name, method, params in table_rows(rows):
        torch.cuda.synchronize()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            torch.cuda.set_sync_debug_mode("warn")
            try:
                record = train(method, params, device, 1, out / "sync" / name)
            finally:
                torch.cuda.set_sync_debug_mode("default")
        syncs = [w for w in caught if "synchroniz" in str(w.message).lower()]
        steps = max(1, record["totals"]["samples"] // int(params.get("batch_size", 32)))
        sources = sorted({f"{Path(w.filename).name}:{w.lineno}" for w in syncs})
        results.append({"row": name, "syncs": len(syncs), "steps": steps, "per_step": len(syncs) / steps,
                        "where": sources[:20]})
        print(f"syncs {name}: {len(syncs)} in {steps} steps ({len(syncs) / steps:.2f} per step)", flush=True)
    return results


def suite(device: str, jobs: int, data_root: str | None, out: Path, table: str = "adasplit-table2") -> dict[str, Any]:
    """A whole table (Table 2 by default), one seed, packed as ``jobs`` runs at a time on the one device, timed."""
    cli = Path(sys.executable).with_name("c3bench")  # the console script of this environment
    command = [str(cli) if cli.exists() else "c3bench", "reproduce", table, "--seeds", "0", "-j", str(jobs),
               "--device", device, "-o", str(out / f"suite-{table}"), "-q"]
    if data_root:
        command += ["--data-root", data_root]
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    wall = time.perf_counter() - start
    report = subprocess.run([*command[:command.index("-j")], "--report", "--format", "json", "-o",
                             str(out / f"suite-{table}")] + (["--data-root", data_root] if data_root else []),
                            capture_output=True, text=True)
    return {"command": " ".join(command), "returncode": done.returncode, "wall_s": round(wall, 1),
            "stderr_tail": done.stderr[-3000:],
            "report": json.loads(report.stdout) if report.returncode == 0 and report.stdout.strip() else None}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="folder for gpu_check.json and the records")
    parser.add_argument("--device", default="cuda", help="device to check against the CPU (default cuda)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of each parity run (default 3)")
    parser.add_argument("--accuracy-tolerance", type=float, default=5.0, help="points (default 5)")
    parser.add_argument("--jobs", type=int, default=8, help="runs packed on the device in the suite (default 8)")
    parser.add_argument("--data-root", default=os.environ.get("C3BENCH_DATA"), help="dataset folder for the suite")
    parser.add_argument("--rows", help="only these Table 2 rows, comma-separated (default: all)")
    parser.add_argument("--samples", type=int, default=512, help="training images per client in parity runs")
    parser.add_argument("--skip-suite", action="store_true", help="parity (and syncs) only")
    parser.add_argument("--suite-table", default="adasplit-table2", help="table the suite reproduces (a dry run: "
                        "synthetic-quick)")
    args = parser.parse_args(argv)
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        print("no CUDA device here; use --device cpu for a dry run", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    summary: dict[str, Any] = {"device": args.device, "torch": torch.__version__,
                               "device_name": torch.cuda.get_device_name() if args.device.startswith("cuda") else "cpu"}

    def save() -> None:
        (args.out / "gpu_check.json").write_text(json.dumps(summary, indent=2) + "\n")

    rows = args.rows.split(",") if args.rows else None
    summary["parity"] = parity(args.device, args.rounds, args.out / "runs", args.accuracy_tolerance, rows, args.samples)
    save()
    if args.device.startswith("cuda"):
        summary["host_syncs"] = host_syncs(args.device, args.out / "runs", rows)
        save()
    if not args.skip_suite:
        summary["suite"] = suite(args.device, args.jobs, args.data_root, args.out, args.suite_table)
        save()
    ok = all(r["accounting_equal"] and r["accuracy_within_tolerance"]
             and r.get("stacked", {}).get("accounting_equal", True) for r in summary["parity"])
    print(f"parity: {'all rows equal' if ok else 'FAILED'}; written {args.out / 'gpu_check.json'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
