#!/usr/bin/env bash
# How the entries of the real boards (mixed-cifar, mixed-noniid) are made: the AdaSplit paper's Tables 2
# and 1 on the shared data, first one seed of every row, then three. Run it from a clean checkout (the
# boards refuse records of uncommitted code); it is resumable, since what has a result is skipped. Two
# runs at a time with one torch thread each (on 2 cores that trains ~1.4x the samples per second of one
# two-thread run). Then: c3bench submit results/adasplit-table2/*.json results/adasplit-table1/*.json
set -euo pipefail
DATA=${C3BENCH_DATA:-../shared/data}
OUT=${OUT:-results}
JOBS=${JOBS:-2}
for seeds in 0 0-2; do
  for table in adasplit-table2 adasplit-table1; do
    c3bench reproduce "$table" --data-root "$DATA" --seeds "$seeds" -j "$JOBS" -o "$OUT/$table" -q
  done
done
