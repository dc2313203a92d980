#!/usr/bin/env bash
# The real data for the device machine, which carries at most 64 MiB a call (CIFAR-10 alone is 173 MB):
# split here into parts that travel one per call, reassembled and checksummed there.
#
#   here:   benchmarks/device_data.sh split DATA_DIR [PART_MB]   -> .device/DATA_PARTS and .device-data-NN/
#   there:  one call per part, back to back (a warm machine keeps what earlier calls carried):
#             run(command="bash benchmarks/device_data.sh status", carry=[".device", ".device-data-00"]) ...
#           then the run itself: benchmarks/device_run.sh assembles the data when every part is there.
#   there:  benchmarks/device_data.sh assemble DEST   (what device_run.sh calls; exit 1 if a part is missing)
set -euo pipefail
cd "$(dirname "$0")/.."
manifest=.device/DATA_PARTS

case "${1:-}" in
  split)
    data=${2:?"usage: device_data.sh split DATA_DIR [PART_MB]"}
    mb=${3:-56}
    (cd "$data" && md5sum --quiet -c MD5SUMS) || { echo "device_data: $data fails its MD5SUMS" >&2; exit 2; }
    rm -rf .device-data-* && mkdir -p .device .device-data-tmp
    # The files MD5SUMS names, and MD5SUMS itself, in one uncompressed tar (the images are PNG already).
    (cd "$data" && tar -c MD5SUMS $(awk '{print $2}' MD5SUMS)) | split -b "${mb}M" -d -a 2 - .device-data-tmp/part-
    : > "$manifest"
    for part in .device-data-tmp/part-*; do
      n=${part##*-}
      mkdir ".device-data-$n" && mv "$part" ".device-data-$n/part"
      echo "$(sha256sum < ".device-data-$n/part" | cut -d' ' -f1)  .device-data-$n/part" >> "$manifest"
    done
    rmdir .device-data-tmp
    echo "device_data: $(wc -l < "$manifest") parts of at most $mb MiB; carry .device and one .device-data-NN per call"
    ;;
  status|assemble)
    [ -f "$manifest" ] || { echo "device_data: no $manifest (run split here, carry .device)" >&2; exit 1; }
    missing=()
    while read -r sum path; do
      [ -f "$path" ] && [ "$(sha256sum < "$path" | cut -d' ' -f1)" = "$sum" ] || missing+=("${path%/part}")
    done < "$manifest"
    total=$(wc -l < "$manifest")
    echo "device_data: $((total - ${#missing[@]})) of $total parts here${missing[*]:+; still to carry: ${missing[*]}}"
    [ ${#missing[@]} -eq 0 ] || exit 1
    if [ "$1" = assemble ]; then
      dest=${2:?"usage: device_data.sh assemble DEST"}
      mkdir -p "$dest"
      cut -d' ' -f3 "$manifest" | xargs cat | tar -x -C "$dest"
      (cd "$dest" && md5sum --quiet -c MD5SUMS) || { echo "device_data: the assembled data fails MD5SUMS" >&2; exit 1; }
      echo "device_data: data assembled in $dest, MD5SUMS checked"
    fi
    ;;
  *) echo "usage: device_data.sh split DATA_DIR [PART_MB] | status | assemble DEST" >&2; exit 2 ;;
esac
