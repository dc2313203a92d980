#!/usr/bin/env bash
# How the entries of the real boards (mixed-cifar, mixed-noniid) are made: the AdaSplit paper's Tables 2
# and 1 on the shared data, in the campaign's order: seed 0 of every row, then seeds 1 and 2 of the rows
# with a published reference, then the AdaSplit ablation on Mixed-NonIID (seed 0), then seed 0 of the
# paper's Tables 3, 4, 6 (Mixed-CIFAR) and 5 (Mixed-NonIID). Run it from a clean
# checkout (the boards refuse records of uncommitted code); it is resumable, since what has a result is
# skipped and a run cut off resumes from its last round. Two runs at a time with one torch thread each (on
# 2 cores that trains ~1.4x the samples per second of one two-thread run).
#
# One numeric mode per row: the sequential split rows that the boards hold with --flush-denormal (they
# slow down round after round on CPU without it, see FINDINGS.md) run with it for every seed; the others
# run plain. Then: c3bench submit results/adasplit-table2/*.json results/adasplit-table1/*.json
set -euo pipefail
DATA=${C3BENCH_DATA:-../shared/data}
OUT=${OUT:-results}
JOBS=${JOBS:-2}
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1

declare -A FLUSHED=([adasplit-table1]="sl-basic,splitfed,splitfed-v2" [adasplit-table2]="sl-basic,splitfed")

rows() {  # rows of a suite: all, or those with a published reference; minus the flushed ones
  python - "$1" "$2" "${FLUSHED[$1]}" <<'EOF'
import sys
from c3bench.configs import named_configs
suite, which, flushed = sys.argv[1], sys.argv[2], set(sys.argv[3].split(","))
print(",".join(r.name for r in named_configs()[suite].runs
               if r.name not in flushed and (which == "all" or r.reference is not None)))
EOF
}

reproduce() {  # suite, seeds, which rows (all | published)
  local suite=$1 seeds=$2 which=$3 flushed
  c3bench reproduce "$suite" --rows "$(rows "$suite" "$which")" --seeds "$seeds" -j "$JOBS" \
    --data-root "$DATA" -o "$OUT/$suite" -q
  flushed=${FLUSHED[$suite]}
  [ "$which" = published ] && flushed=$(echo "$flushed" | tr , '\n' | grep -v -- '-v2$' | paste -sd,)
  c3bench reproduce "$suite" --rows "$flushed" --seeds "$seeds" -j "$JOBS" --flush-denormal \
    --data-root "$DATA" -o "$OUT/$suite" -q
}

for suite in adasplit-table2 adasplit-table1; do reproduce "$suite" 0 all; done
for suite in adasplit-table2 adasplit-table1; do reproduce "$suite" 1-2 published; done
# The ablation and Tables 3-6 write into Table 1's and Table 2's folders: a row they share with those
# tables (the same configuration, e.g. the ablation's "paper's text" row or Table 4's kappa = 0.3) is
# found there and not run again.
c3bench reproduce adasplit-ablation-noniid --seeds 0 -j "$JOBS" --data-root "$DATA" -o "$OUT/adasplit-table1" -q
for suite in adasplit-table4 adasplit-table6 adasplit-table3; do
  c3bench reproduce "$suite" --seeds 0 -j "$JOBS" --data-root "$DATA" -o "$OUT/adasplit-table2" -q
done
c3bench reproduce adasplit-table5 --seeds 0 -j "$JOBS" --data-root "$DATA" -o "$OUT/adasplit-table1" -q
