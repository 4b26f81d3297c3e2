#!/usr/bin/env bash
# The cost of a run over several processes on this machine: the gradient all-reduce and the stop
# check per step for each lesson model (charnn_bench_allreduce, two ranks on loopback), then one
# epoch of char-rnn and of the LSTM on one process against two ranks of the same global batch
# (`charnn train`, wall time). bench/README.md, "Data parallel", has the figures and the scaling
# on paper.
#   bench/parallel.sh [BUILD_DIR]   (default: build)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
text=${CHARNN_TEXT:-$root/data/nietzsche.txt}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

echo "== gradient all-reduce and stop check per step, 2 ranks on loopback"
p=$(port)
RANK=1 WORLD_SIZE=2 MASTER_PORT=$p "$build/bench/charnn_bench_allreduce" 50 &
RANK=0 WORLD_SIZE=2 MASTER_PORT=$p "$build/bench/charnn_bench_allreduce" 50
wait

echo "== one epoch, 1 process of 2 shards against 2 ranks of 1 (the same global batch), wall seconds"
for model in char-rnn char-seq-stateful-lstm; do
  args=(train --no-progress --text "$text" --model "$model" --fit 1@1e-3 --metrics-every 0 --checkpoint-every 0)
  [ "$model" = char-rnn ] && args+=(--max-chars 200000) || args+=(--max-chars 100000)
  t0=$(date +%s.%N)
  "$build/app/charnn" "${args[@]}" --out "$work/one-$model" >/dev/null
  t1=$(date +%s.%N)
  p=$(port)
  RANK=1 WORLD_SIZE=2 MASTER_PORT=$p "$build/app/charnn" "${args[@]}" --shards 1 --out "$work/two-$model" >/dev/null &
  RANK=0 WORLD_SIZE=2 MASTER_PORT=$p "$build/app/charnn" "${args[@]}" --shards 1 --out "$work/two-$model" >/dev/null
  wait
  t2=$(date +%s.%N)
  python3 -c "print('$model: 1 process %.1f s, 2 ranks %.1f s' % ($t1 - $t0, $t2 - $t1))"
done
