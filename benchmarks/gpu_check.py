"""Everything the speed issue asks of a GPU, checked in one call (the device machine gives one call).

On the device machine this runs through ``benchmarks/device_run.sh`` (prepared here by
``benchmarks/device_prepare.sh``), which installs the committed code and packs what comes back:

    python benchmarks/gpu_check.py --out "$OUT" --work /tmp/gc --pack --deadline-s 500 --jobs 8

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
3. **suite**: ``c3bench reproduce TABLE --seeds SEEDS -j JOBS --device DEVICE`` for each of
   ``--suite-table`` (Table 2 by default) on the real data, timed end to end (the goal is 5 minutes for
   Table 2 on one H200), stopped cleanly at ``--deadline-s``. Its records name the commit they ran
   from; with ``--pack`` they come back as one ``suite-records.tar.gz``, to be submitted from the session.
   The real data must be on the machine: CIFAR-10 alone is 173 MB, past the 64 MiB a device call
   carries, so ``benchmarks/device_data.sh`` stages it over earlier calls (README).

FedAvg and FedNova also run with their clients stacked into one model (``--stack-clients``) on the
device: the same exact accounting, the accuracy gap, and the wall time beside the per-client loop's.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tarfile
import time
import warnings
from pathlib import Path
from typing import Any

import torch

from c3bench import configs, registry
from c3bench.environment import environment
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


def suite(device: str, jobs: int, data_root: str | None, work: Path, table: str = "adasplit-table2",
          seeds: str = "0", deadline_s: float | None = None) -> dict[str, Any]:
    """A whole table (Table 2 by default) over ``seeds``, packed as ``jobs`` runs at a time on the one
    device, timed. Past ``deadline_s`` seconds the sweep is interrupted (Ctrl-C): finished records stay."""
    cli = Path(sys.executable).with_name("c3bench")  # the console script of this environment
    folder = work / f"suite-{table}"
    command = [str(cli) if cli.exists() else "c3bench", "reproduce", table, "--seeds", seeds, "-j", str(jobs),
               "--device", device, "-o", str(folder), "-q"]
    if data_root:
        command += ["--data-root", data_root]
    start = time.perf_counter()
    # A shell that starts us in the background (`nohup ... &`) ignores SIGINT, and the child would inherit
    # that and run to its end: give it the default action so that Python turns Ctrl-C into KeyboardInterrupt.
    restore_ctrl_c = (lambda: signal.signal(signal.SIGINT, signal.SIG_DFL)) if os.name == "posix" else None
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               preexec_fn=restore_ctrl_c)
    interrupted = False
    try:
        stdout, stderr = process.communicate(timeout=deadline_s)
    except subprocess.TimeoutExpired:  # out of time: stop cleanly, keep what finished
        interrupted = True
        process.send_signal(signal.SIGINT)
        try:
            stdout, stderr = process.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            stdout, stderr = process.communicate()
    wall = time.perf_counter() - start
    report = subprocess.run([*command[:command.index("-j")], "--report", "--format", "json", "-o", str(folder)]
                            + (["--data-root", data_root] if data_root else []), capture_output=True, text=True)
    return {"command": " ".join(command), "returncode": process.returncode, "wall_s": round(wall, 1),
            "interrupted_at_deadline": interrupted, "stderr_tail": stderr[-3000:],
            "report": json.loads(report.stdout) if report.returncode == 0 and report.stdout.strip() else None}


def pack(work: Path, out: Path) -> Path | None:
    """The suite's records as one ``suite-records.tar.gz`` in ``out`` (the device returns at most 8 files)."""
    folders = sorted(work.glob("suite-*"))
    if not folders:
        return None
    archive = out / "suite-records.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        for folder in folders:
            for record in sorted(folder.glob("*.json")):  # records only: checkpoints stay behind
                tar.add(record, arcname=f"{folder.name}/{record.name}")
    return archive


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
    parser.add_argument("--suite-table", default="adasplit-table2", help="tables the suite reproduces, "
                        "comma-separated, in order (a dry run: synthetic-quick)")
    parser.add_argument("--suite-seeds", default="0", help="seeds of each suite table, e.g. 0-2 (default 0)")
    parser.add_argument("--work", type=Path, help="folder for the runs' records (default: --out)")
    parser.add_argument("--deadline-s", type=float, help="stop the suite cleanly this many seconds after the "
                        "check started (a device call has a hard limit); finished records stay")
    parser.add_argument("--pack", action="store_true", help="put the suite's records in one "
                        "--out/suite-records.tar.gz (the device machine returns at most 8 files)")
    args = parser.parse_args(argv)
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        print("no CUDA device here; use --device cpu for a dry run", file=sys.stderr)
        return 2
    started = time.perf_counter()
    work = args.work or args.out
    args.out.mkdir(parents=True, exist_ok=True)
    work.mkdir(parents=True, exist_ok=True)
    summary: dict[str, Any] = {"device": args.device, "torch": torch.__version__,
                               "device_name": torch.cuda.get_device_name() if args.device.startswith("cuda") else "cpu",
                               "c3bench_commit": environment()["git_commit"]}

    def save() -> None:
        (args.out / "gpu_check.json").write_text(json.dumps(summary, indent=2) + "\n")

    rows = args.rows.split(",") if args.rows else None
    summary["parity"] = parity(args.device, args.rounds, work / "runs", args.accuracy_tolerance, rows, args.samples)
    save()
    if args.device.startswith("cuda"):
        summary["host_syncs"] = host_syncs(args.device, work / "runs", rows)
        save()
    if not args.skip_suite:
        summary["suite"] = []
        for table in args.suite_table.split(","):
            left = None if args.deadline_s is None else args.deadline_s - (time.perf_counter() - started)
            if left is not None and left < 30:
                summary["suite"].append({"table": table, "skipped": "no time left before --deadline-s"})
                continue
            summary["suite"].append({"table": table, **suite(args.device, args.jobs, args.data_root, work, table,
                                                              args.suite_seeds, left)})
            save()
        if args.pack:
            archive = pack(work, args.out)
            summary["suite_records"] = archive.name if archive else None
    save()
    ok = all(r["accounting_equal"] and r["accuracy_within_tolerance"]
             and r.get("stacked", {}).get("accounting_equal", True) for r in summary["parity"])
    print(f"parity: {'all rows equal' if ok else 'FAILED'}; written {args.out / 'gpu_check.json'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
