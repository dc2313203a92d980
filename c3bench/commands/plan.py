"""`c3bench plan`: EdgeSplit's split points and bandwidth shares for a fleet, without training.

Prints each device's cut, bandwidth share and predicted time per round, beside the best uniform cut
(plain parallel split learning, equal bandwidth), the best uniform cut with optimised bandwidth,
and FL (the whole model on every device), with the speedups. Per-block FLOPs and activation sizes
are measured once on the real modules (``c3bench.edgesplit.planner.profile_model``).
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import typer

from c3bench.console import ViewFormat
from c3bench.log import log

# Two each of a Raspberry Pi 4, a Jetson Nano, a phone and a laptop: devices 20x apart in compute, on Wi-Fi,
# sharing an edge server, the heterogeneity EdgeSplit (Zhang et al., 2024) is designed for. (The paper's
# exact testbed is not in the shared summary; this fleet is c3bench's stand-in.)
DEFAULT_FLEET = "raspberry-pi-4*2,jetson-nano*2,phone*2,laptop*2"


def build_report(model: str, devices: str, input_size: int, num_classes: int | None, batch_size: int,
                 samples: int, server: str, server_bandwidth: str | None, seed: int,
                 num_devices: int | None = None) -> dict[str, Any]:
    """Everything `c3bench plan` prints, as data (also used by tests and benchmarks)."""
    from c3bench.accounting.devices import parse_fleet, parse_rate
    from c3bench.edgesplit.planner import SplitPlanner, profile_backbone
    from c3bench.hparams import ConfigError
    from c3bench.registry import BACKBONES

    BACKBONES.get(model)  # an unknown model: ConfigError with a did-you-mean
    if input_size < 8 or batch_size < 1 or samples < 1:
        raise ConfigError("--input-size must be at least 8, --batch-size and --samples at least 1.")
    classes = num_classes if num_classes is not None else (1000 if input_size > 64 else 10)
    if devices.strip().startswith("random") and num_devices is None:
        raise ConfigError("a random fleet needs its size: add --num-devices N.")
    fleet = parse_fleet(devices, num_devices, seed, server=server if server else None)
    if server_bandwidth:
        fleet = replace(fleet, server=replace(fleet.server, bandwidth=parse_rate(server_bandwidth)))
    profile = profile_backbone(model, classes, (3, input_size, input_size))
    planner = SplitPlanner(profile, fleet, [samples] * len(fleet), batch_size)
    plan = planner.solve()
    u_cut, u_shares, u_time = planner.uniform(optimise_bandwidth=False)
    ub_cut, ub_shares, ub_time = planner.uniform(optimise_bandwidth=True)
    fl_time, _ = planner.fl_makespan()

    def device_rows(cuts: list[int], shares: list[float]) -> list[dict[str, Any]]:
        rows = []
        for i, (c, s) in enumerate(zip(cuts, shares, strict=True)):
            t = planner.device_time(i, c, s)
            rows.append({"device": fleet.devices[i].name, "cut": c, "last_client_block": profile.blocks[c - 1],
                         "client_flops_share": profile.client_flops(c) / profile.total_flops,
                         "bandwidth_share": s, "time_s": t.chain_s, "compute_s": t.compute_s,
                         "transfer_s": t.upload_s + t.download_s, "server_s": t.server_s})
        return rows

    return {
        "model": model, "input_shape": [3, input_size, input_size], "num_classes": classes,
        "batch_size": batch_size, "samples_per_device": samples, "fleet": fleet.as_dict(),
        "edgesplit": {"makespan_s": plan.makespan_s, "iterations": plan.iterations, "converged": plan.converged,
                      "history": plan.history, "devices": device_rows(plan.cuts, plan.shares)},
        "uniform": {"cut": u_cut, "last_client_block": profile.blocks[u_cut - 1], "makespan_s": u_time,
                    "speedup": u_time / plan.makespan_s, "devices": device_rows([u_cut] * len(fleet), u_shares)},
        "uniform_bandwidth": {"cut": ub_cut, "last_client_block": profile.blocks[ub_cut - 1], "makespan_s": ub_time,
                              "speedup": ub_time / plan.makespan_s},
        "fl": {"makespan_s": fl_time, "speedup": fl_time / plan.makespan_s},
    }


def register(app: typer.Typer) -> None:
    from c3bench.console import ViewFormat, format_option, json_option, out, output_format, user_errors

    @app.command()
    @user_errors
    def plan(
        model: str = typer.Option("resnet50", "--model", help="Backbone: resnet18, resnet50, lenet, simple-cnn."),
        devices: str = typer.Option(DEFAULT_FLEET, "--devices", help="Fleet: presets (raspberry-pi-4*2,jetson-nano,"
                                    "laptop), random[:SEED] with --num-devices, or a .json/.toml file; presets: "
                                    "raspberry-pi-4, jetson-nano, jetson-xavier-nx, phone, phone-lte, laptop. Default: "
                                    "a heterogeneous 8-device edge fleet of the kind the EdgeSplit paper studies."),
        input_size: int = typer.Option(224, "--input-size", help="Image side: <=64 uses the CIFAR stem, larger the ImageNet stem."),
        num_classes: int | None = typer.Option(None, "--num-classes", help="Classes (default 1000 for inputs > 64, else 10)."),
        batch_size: int = typer.Option(32, "--batch-size", help="Split-learning batch size (messages per round)."),
        samples: int = typer.Option(500, "--samples", help="Training samples per device per round (one local epoch)."),
        server: str = typer.Option("", "--server", help="Server preset (edge-gpu, cloud-gpu); default: the file's or edge-gpu."),
        server_bandwidth: str | None = typer.Option(None, "--server-bandwidth", help="Total server bandwidth, e.g. 1Gbps or 100MB/s."),
        num_devices: int | None = typer.Option(None, "--num-devices", help="Fleet size for --devices random[:SEED] "
                                               "(or to repeat a single preset)."),
        seed: int = typer.Option(0, "--seed", help="Seed for a random fleet without its own seed."),
        fmt: ViewFormat | None = format_option(ViewFormat, ViewFormat.table),
        as_json: bool = json_option(),
    ) -> None:
        """Plan EdgeSplit (per-device split points and bandwidth) for a fleet and compare with uniform split and FL.

        Example: c3bench plan --model resnet50   (the default fleet: raspberry-pi-4*2,jetson-nano*2,phone*2,laptop*2)
        """
        report = build_report(model, devices, input_size, num_classes, batch_size, samples, server,
                              server_bandwidth, seed, num_devices)
        if output_format(fmt, as_json, ViewFormat.table) == "json":
            out.print_json(json.dumps(report))
            return
        _print_table(report, out)


def _print_table(report: dict[str, Any], out) -> None:
    from rich.table import Table

    from c3bench.console import cells
    from c3bench.units import human_flops

    f = report["fleet"]
    server = f["server"]
    log.info(f"{report['model']} {report['input_shape']}, {report['num_classes']} classes, batch {report['batch_size']}, "
              f"{report['samples_per_device']} samples per device per round; server {server['name']} "
              f"{human_flops(server['flops'])}/s, {server['bandwidth'] * 8 / 1e6:.0f} Mbit/s shared", markup=False)
    table = Table(title="EdgeSplit plan (time per round)")
    for h in ("device", "cut", "after block", "client FLOPs", "bandwidth", "compute s", "transfer s", "server s", "round s"):
        table.add_column(h, justify="left" if h in ("device", "after block") else "right")
    for d in report["edgesplit"]["devices"]:
        table.add_row(*cells(d["device"], str(d["cut"]), d["last_client_block"], f"{100 * d['client_flops_share']:.1f}%",
                      f"{100 * d['bandwidth_share']:.1f}%", f"{d['compute_s']:.2f}", f"{d['transfer_s']:.2f}",
                             f"{d['server_s']:.2f}", f"{d['time_s']:.2f}"))
    out.print(table)
    summary = Table(title="per-round time, and EdgeSplit's speedup over each")
    for h in ("scheme", "split", "round s", "EdgeSplit speedup"):
        summary.add_column(h, justify="left" if h in ("scheme", "split") else "right")
    es = report["edgesplit"]
    summary.add_row("EdgeSplit", "per device", f"{es['makespan_s']:.2f}", "1.00x")
    u, ub, fl = report["uniform"], report["uniform_bandwidth"], report["fl"]
    summary.add_row("uniform split, equal bandwidth (parallel SL)", f"cut {u['cut']} ({u['last_client_block']})",
                    f"{u['makespan_s']:.2f}", f"{u['speedup']:.2f}x")
    summary.add_row("uniform split, optimised bandwidth", f"cut {ub['cut']} ({ub['last_client_block']})",
                    f"{ub['makespan_s']:.2f}", f"{ub['speedup']:.2f}x")
    summary.add_row("FL (whole model on device)", "-", f"{fl['makespan_s']:.2f}", f"{fl['speedup']:.2f}x")
    out.print(summary)
