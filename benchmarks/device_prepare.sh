#!/usr/bin/env bash
# Prepare .device/ here for one call of the device machine: c3bench as a wheel built from a `git archive`
# of the committed HEAD, stamped with that commit (the device gets no .git, and the real boards take only
# records that name a commit), plus the wheels its image lacks. Then, in one device call, carry .device:
#   run(command="bash benchmarks/device_run.sh 540", carry=[".device"], timeout_s=600)
# Usage: benchmarks/device_prepare.sh [PYTHON]   (PYTHON: the interpreter whose pip builds the wheels)
set -euo pipefail
python=${1:-python3}
cd "$(git rev-parse --show-toplevel)"
if [ -n "$(git status --porcelain --untracked-files=no)" ]; then
  echo "device_prepare: the checkout has uncommitted changes; commit them first (records must name a clean commit)" >&2
  exit 2
fi
commit=$(git rev-parse HEAD)
rm -rf .device && mkdir -p .device/src .device/whl
git archive HEAD | tar -x -C .device/src
echo "$commit" > .device/src/c3bench/SOURCE_COMMIT
"$python" -m pip wheel -q --no-deps --no-build-isolation -w .device/whl .device/src
# The device image has torch, numpy, typer, rich, matplotlib and pillow; platformdirs is missing (pure Python).
"$python" -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation py \
  --platform any -d .device/whl "platformdirs>=3"
rm -rf .device/src
echo "$commit" > .device/COMMIT
ls -l .device/whl
echo "device_prepare: .device holds c3bench at ${commit:0:12}; carry it in the device call"
