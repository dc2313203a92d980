#!/usr/bin/env bash
# Re-create this board's entries with the current code, from a clean checkout (the board accepts only
# committed code): real runs, then a fresh submission.
# Needed when the synthetic protocol's source changes (its content hash is in every entry and
# `c3bench leaderboard check` compares it with the registered protocol's). About 10 CPU-minutes.
set -euo pipefail
cd "$(dirname "$0")/../.."
out=$(mktemp -d)
c3bench sweep -m fedavg,fedprox,adasplit -p synthetic --seeds 0-2 -r 3 -o "$out" -q > /dev/null
c3bench sweep -m adasplit,splitfed -p synthetic --seeds 0 --grid kappa=0.3 -r 3 -o "$out" -q > /dev/null
rm -f leaderboards/synthetic/entries/*.json
c3bench submit "$out"/*.json --board-dir leaderboards
c3bench leaderboard check
