"""Prepare the tensor cache ahead of time and report load times.

    python -m c3bench.data.prepare --data-root ../shared/data            # fill the cache, time loads
    python -m c3bench.data.prepare --data-root ../shared/data --cold     # time decoding from scratch

``--cold`` decodes into a temporary cache (removed afterwards), so the numbers are those of a first
run on a fresh machine; the warm figure is the second load from that cache.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time

from c3bench.data.datasets import dataset_names, load_dataset
from c3bench.data.root import ENV_CACHE, tensor_cache_dir
from c3bench.hparams import ConfigError


def time_loads(names: list[str], data_root: str | None) -> list[dict]:
    """Load each dataset twice; return sizes and the two wall times."""
    rows = []
    for name in names:
        start = time.perf_counter()
        data = load_dataset(name, data_root)
        first = time.perf_counter() - start
        start = time.perf_counter()
        again = load_dataset(name, data_root)
        second = time.perf_counter() - start
        rows.append({"dataset": name, "splits": {k: len(v) for k, v in data.splits.items()},
                     "first_s": first, "first_was_cached": data.cache_hit, "second_s": second,
                     "second_was_cached": again.cache_hit, "skipped": len(data.skipped)})
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m c3bench.data.prepare", description=__doc__.splitlines()[0])
    parser.add_argument("--data-root", default=None, help="data folder (default: env C3BENCH_DATA, else the user cache)")
    parser.add_argument("--datasets", default=",".join(dataset_names()), help="comma-separated names")
    parser.add_argument("--cold", action="store_true", help="decode into a temporary cache to time a first run")
    args = parser.parse_args(argv)
    names = [n.strip() for n in args.datasets.split(",") if n.strip()]
    tmp = tempfile.mkdtemp(prefix="c3bench-cold-") if args.cold else None
    previous = os.environ.get(ENV_CACHE)
    if tmp:
        os.environ[ENV_CACHE] = tmp
    try:
        rows = time_loads(names, args.data_root)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    finally:
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)
            if previous is None:
                os.environ.pop(ENV_CACHE, None)
            else:
                os.environ[ENV_CACHE] = previous
    print(f"{'dataset':<14} {'splits':<28} {'first load':>12} {'second load':>12}  skipped")
    for r in rows:
        splits = ", ".join(f"{k} {v:,}" for k, v in r["splits"].items())
        first = f"{r['first_s']:.2f} s" + (" (cached)" if r["first_was_cached"] else "")
        print(f"{r['dataset']:<14} {splits:<28} {first:>12} {r['second_s'] * 1000:>9.1f} ms  {r['skipped']}")
    print(f"tensor cache: {'(temporary, removed)' if tmp else tensor_cache_dir(args.data_root)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
