"""Measure how far re-runs on this machine drift from board entries made on another platform, and keep
the re-runs' first rounds as the evidence ``tests/test_hostile.py`` checks ``c3bench.platform_drift``
against (a genuine cross-platform re-run must pass verify; a consistent forgery of it must not).

    python benchmarks/cross_platform_drift.py --data-root ../shared/data --rounds 1 \\
        leaderboards/mixed-cifar/entries/scaffold_mixed-cifar_s0_5988b225344b.json ...

Entries whose ``environment.cpu`` is this machine's are skipped (they re-run bit-identically). Each
re-run's configuration, data summary, status and first ``--rounds`` rounds are written to ``--out``
(default ``tests/golden/cross_platform.json``, merged with what is there), with the platform of both and
the claim itself (the entry cut to the same rounds), so the evidence outlives the entry being replaced on
its board by a newer run.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

GOLDEN = Path(__file__).resolve().parent.parent / "tests" / "golden" / "cross_platform.json"


def rerun_prefix(entry: Path, rounds: int, data_root: str | None) -> dict:
    """The first ``rounds`` rounds of ``entry`` re-run here, as the golden file keeps them."""
    import torch

    from c3bench.environment import environment
    from c3bench.results import load_record
    from c3bench.runner import Runner, resolve
    from c3bench.verify import spec_of

    record = load_record(entry)
    torch.set_num_threads(int(record["environment"].get("torch_threads") or 1))
    with tempfile.TemporaryDirectory() as tmp:
        rerun = Runner(resolve(spec_of(record, data_root)), tmp, stop_after=rounds).execute()
    here = environment()
    return {"entry": str(entry), "made_on": record["environment"].get("cpu"), "rerun_on": here.get("cpu"),
            "torch": here.get("torch"), "status": rerun["status"], "data": rerun["data"],
            "config": rerun["config"], "rounds": rerun["rounds"],
            "claimed": {**record, "rounds": record["rounds"][:rounds]}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("entries", nargs="+", type=Path)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--data-root", default=None)
    parser.add_argument("--out", type=Path, default=GOLDEN)
    args = parser.parse_args()
    from c3bench.environment import environment

    kept = json.loads(args.out.read_text()) if args.out.exists() else {}
    for entry in args.entries:
        made_on = json.loads(entry.read_text())["environment"].get("cpu")
        if made_on == environment().get("cpu"):
            print(f"skip {entry}: made on this platform ({made_on})")
            continue
        began = time.perf_counter()
        kept[entry.name] = rerun_prefix(entry, args.rounds, args.data_root)
        print(f"{entry}: {args.rounds} round(s) re-run in {time.perf_counter() - began:.0f} s", flush=True)
        args.out.write_text(json.dumps(kept, indent=0, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
