#!/usr/bin/env bash
# On the device machine, in one call (prepared here by benchmarks/device_prepare.sh, which makes .device/):
#   run(command="bash benchmarks/device_run.sh 540", carry=[".device"], timeout_s=600)
# Installs the carried, commit-stamped c3bench, runs benchmarks/gpu_check.py within BUDGET seconds, and
# leaves in $OUT what comes back: gpu_check.json, its log and suite-records.tar.gz (at most 8 files).
# Extra gpu_check arguments go in GPU_CHECK_ARGS (e.g. "--suite-table adasplit-table1,adasplit-table2 --suite-seeds 0-2").
set -uo pipefail
budget=${1:-540}
out=${OUT:?"device_run.sh writes to OUT, the folder a device call returns"}
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .device/whl/*.whl || exit 3
export PYTHONPATH=/tmp/site PATH=/tmp/site/bin:$PATH PYTHONUNBUFFERED=1
expected=$(cat .device/COMMIT)
actual=$(python3 -c "from c3bench.environment import environment; print(environment()['git_commit'])")
if [ "$actual" != "$expected" ]; then echo "installed c3bench names $actual, not $expected" >&2; exit 3; fi
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv > "$out/nvidia-smi.csv" 2>&1
# The real data: staged over earlier calls (benchmarks/device_data.sh), or a shared/data in the checkout.
data=(--skip-suite)
if [ -f .device/DATA_PARTS ]; then
  bash benchmarks/device_data.sh assemble /tmp/c3data && data=(--data-root /tmp/c3data)
elif [ -d shared/data ]; then
  data=(--data-root shared/data)
fi
[ "${data[0]}" = --skip-suite ] && echo "device_run: no real data here, so no suite (see benchmarks/device_data.sh)"
# SECONDS counts from this script's start; leave 40 s to pack and return.
python3 benchmarks/gpu_check.py --out "$out" --work /tmp/gc --pack --deadline-s $((budget - SECONDS - 40)) \
  "${data[@]}" ${GPU_CHECK_ARGS:-} 2>&1 | tee "$out/gpu_check.log"
