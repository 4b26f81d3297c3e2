#!/usr/bin/env bash
# charnn launched by torchrun as users launch PyTorch scripts: `torchrun --no-python
# --nproc-per-node 2 charnn train ...`, its workers joining through torchrun's own store. The run
# must end byte for byte as one process of two shards does.
#   parallel_torchrun.sh BUILD_DIR WORK_DIR PYTHON
# PYTHON is the Python whose torch has this build's LibTorch version; its torchrun launches.
# Exits 77 (CTest: skipped), saying why, without a torchrun that runs here.
set -euo pipefail
build=$1 work=$2 python=$3
charnn=$build/app/charnn
root=$(cd "$(dirname "$0")/.." && pwd)
text=${CHARNN_TEXT:-$root/data/nietzsche.txt}
torchrun=$(dirname "$python")/torchrun
[ -x "$torchrun" ] || { echo "skipped: no torchrun beside $python"; exit 77; }
"$torchrun" --help >/dev/null 2>&1 || { echo "skipped: $torchrun does not start here"; exit 77; }
[ -f "$text" ] || { echo "parallel_torchrun: $text missing (run ./run.sh setup)" >&2; exit 1; }

rm -rf "$work"
mkdir -p "$work"
run=(train --no-progress --text "$text" --max-chars 30000 --model char-rnn --n-hidden 32 --bs 64 --seed 2
     --fit 1@3e-3 --plain)
"$charnn" "${run[@]}" --shards 2 --out "$work/single" >"$work/single.log" 2>&1
# Each worker multiplies on one OpenBLAS thread, as each shard of the one process does: the same
# kernels (with more threads, OpenBLAS's kernels for some CPUs sum in another order).
export OPENBLAS_NUM_THREADS=1
# The underscore spellings both torch 1.13 and 2.x take; --redirects/--tee because 1.13's launcher
# fails on Python 3.11 without them (its Std.from_str of their default).
"$torchrun" --standalone --nproc_per_node 2 --no_python --redirects 1 --tee 1 "$charnn" "${run[@]}" --shards 1 --out "$work/ranks" \
  >"$work/torchrun.log" 2>&1 || { cat "$work/torchrun.log" >&2; exit 1; }
cat "$work/torchrun.log"
for f in model.pt epochs.csv batches.csv; do
  cmp "$work/single/$f" "$work/ranks/$f" || { echo "parallel_torchrun: $f differs from one process's" >&2; exit 1; }
done
grep -q '"world_size": 2' "$work/ranks/config.json"
echo "parallel_torchrun: torchrun's two workers end byte for byte as one process of two shards"
