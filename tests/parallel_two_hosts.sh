#!/usr/bin/env bash
# Two hosts for real: two network namespaces joined by a veth pair, one rank of a charnn run in
# each, each binding its own address, rank 1 reaching rank 0's store across the pair. The run
# must end byte for byte as one process of two shards does.
#   parallel_two_hosts.sh BUILD_DIR WORK_DIR
# Exits 77 (CTest: skipped), saying why, when namespaces cannot be made here (not root, no ip).
set -euo pipefail
build=$1 work=$2
charnn=$build/app/charnn
root=$(cd "$(dirname "$0")/.." && pwd)
text=${CHARNN_TEXT:-$root/data/nietzsche.txt}
[ "$(id -u)" -eq 0 ] || { echo "skipped: network namespaces need root"; exit 77; }
command -v ip >/dev/null || { echo "skipped: no ip command (iproute2)"; exit 77; }
[ -f "$text" ] || { echo "parallel_two_hosts: $text missing (run ./run.sh setup)" >&2; exit 1; }

ns0=charnn$$a ns1=charnn$$b veth0=cn$$a veth1=cn$$b
net=10.$((200 + $$ % 50)).$(($$ / 50 % 250))
cleanup() { ip netns del "$ns0" 2>/dev/null || true; ip netns del "$ns1" 2>/dev/null || true; }
trap cleanup EXIT
ip netns add "$ns0" 2>/dev/null || { echo "skipped: ip netns add is not permitted here"; exit 77; }
ip netns add "$ns1"
ip link add "$veth0" type veth peer name "$veth1"
ip link set "$veth0" netns "$ns0"
ip link set "$veth1" netns "$ns1"
ip -n "$ns0" addr add "$net.1/24" dev "$veth0"
ip -n "$ns1" addr add "$net.2/24" dev "$veth1"
for ns in "$ns0" "$ns1"; do ip -n "$ns" link set lo up; done
ip -n "$ns0" link set "$veth0" up
ip -n "$ns1" link set "$veth1" up

rm -rf "$work"
mkdir -p "$work"
run=(train --no-progress --text "$text" --max-chars 30000 --model char-rnn --n-hidden 32 --bs 64 --seed 2
     --fit 1@3e-3 --plain)
"$charnn" "${run[@]}" --shards 2 --out "$work/single" >"$work/single.log" 2>&1
# Each rank multiplies on one OpenBLAS thread, as each shard of the one process does: the same
# kernels (with more threads, OpenBLAS's kernels for some CPUs sum in another order).
export OPENBLAS_NUM_THREADS=1
echo "host $net.1: rank 0, host $net.2: rank 1, over $veth0 <-> $veth1"
ip netns exec "$ns0" env RANK=0 WORLD_SIZE=2 MASTER_ADDR="$net.1" MASTER_PORT=29500 \
  "$charnn" "${run[@]}" --shards 1 --bind "$net.1" --out "$work/ranks" >"$work/rank0.log" 2>&1 &
pid0=$!
status1=0
ip netns exec "$ns1" env RANK=1 WORLD_SIZE=2 MASTER_ADDR="$net.1" MASTER_PORT=29500 \
  "$charnn" "${run[@]}" --shards 1 --bind "$net.2" --out "$work/ranks" >"$work/rank1.log" 2>&1 ||
  status1=$?
status0=0
wait "$pid0" || status0=$?
cat "$work/rank0.log"
if [ "$status0" -ne 0 ] || [ "$status1" -ne 0 ]; then
  echo "parallel_two_hosts: rank 0 exited $status0, rank 1 $status1" >&2
  cat "$work/rank1.log" >&2
  exit 1
fi
for f in model.pt epochs.csv batches.csv; do
  cmp "$work/single/$f" "$work/ranks/$f" || { echo "parallel_two_hosts: $f differs from one process's" >&2; exit 1; }
done
echo "parallel_two_hosts: two ranks on two hosts end byte for byte as one process of two shards"
