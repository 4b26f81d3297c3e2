#!/usr/bin/env bash
# A run interrupted under one LibTorch resumes under the other, both ways.
#   cross_version_resume.sh THIS_BUILD OTHER_BUILD WORK_DIR
# For each direction (this -> other, other -> this): the first build trains char-rnn and is
# stopped by SIGTERM mid-epoch; then
#   1. both builds load that checkpoint, and what they load is the same bit for bit: the resume
#      point, every weight, Adam's moments and steps, the batch order and the generator state
#      (charnn_state_dump prints them exactly);
#   2. each build resumes its own copy to the end of the schedule.
# The two continuations are not compared bit for bit: the versions' kernels round differently
# (MKL against OpenBLAS, among others), so from the same state they drift apart in the last
# bits. Each version's resume from a given state is exact (the resume tests of each suite);
# here their epoch losses must agree to 1e-4.
# Exits 77 (CTest: skipped), saying why, when the other build or a second LibTorch is absent.
set -euo pipefail
this=$1 other=$2 work=$3
root=$(cd "$(dirname "$0")/.." && pwd)
text=${CHARNN_TEXT:-$root/data/nietzsche.txt}
for b in "$this" "$other"; do
  if [ ! -x "$b/app/charnn" ] || [ ! -x "$b/tests/charnn_state_dump" ]; then
    echo "skipped: $b has no app/charnn and tests/charnn_state_dump (build both LibTorch paths to run this)"
    exit 77
  fi
done
v_this=$("$this/app/charnn" --version) v_other=$("$other/app/charnn" --version)
echo "this:  $v_this"
echo "other: $v_other"
if [ "${v_this#*LibTorch }" = "${v_other#*LibTorch }" ]; then
  echo "skipped: both builds use the same LibTorch"
  exit 77
fi
[ -f "$text" ] || { echo "cross_version_resume: $text missing (run ./run.sh setup)" >&2; exit 1; }
rm -rf "$work"
mkdir -p "$work"

# The last two fields (trn_loss, val_loss) of epochs.csv's rows.
losses() { tail -n +2 "$1/epochs.csv" | cut -d, -f5,6; }

direction() {
  local from=$1 to=$2 name=$3 dir=$work/$3 pid status
  mkdir -p "$dir"
  # Held at step 40 (common/test_hold.h), so the SIGTERM lands there however fast the machine.
  CHARNN_TEST_HOLD=step:40 "$from/app/charnn" train --no-progress --text "$text" --out "$dir/run" --model char-rnn \
    --n-hidden 64 --bs 64 --seed 7 --max-chars 20000 --fit 1@3e-3 --fit 1@1e-3 --metrics-every 1 \
    >"$dir/first.out" 2>&1 &
  pid=$!
  while ! grep -q 'holding at step:40 ' "$dir/first.out" 2>/dev/null; do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.02
  done
  kill -TERM "$pid" 2>/dev/null || true
  status=0
  wait "$pid" || status=$?
  if [ "$status" -ne 143 ]; then
    echo "$name: the first run did not stop on SIGTERM (exit $status):" >&2
    cat "$dir/first.out" >&2
    return 1
  fi
  grep 'interrupted by signal' "$dir/first.out"
  "$from/tests/charnn_state_dump" "$dir/run" >"$dir/state.from"
  "$to/tests/charnn_state_dump" "$dir/run" >"$dir/state.to"
  if ! cmp -s "$dir/state.from" "$dir/state.to"; then
    echo "$name: the two builds load different states:" >&2
    diff "$dir/state.from" "$dir/state.to" >&2 || true
    return 1
  fi
  echo "$name: both builds load the same state ($(wc -l <"$dir/state.from") values; $(head -1 "$dir/state.from"))"
  cp -r "$dir/run" "$dir/same"
  cp -r "$dir/run" "$dir/cross"
  "$from/app/charnn" train --no-progress --resume "$dir/same" >/dev/null 2>"$dir/same.err" ||
    { cat "$dir/same.err" >&2; return 1; }
  "$to/app/charnn" train --no-progress --resume "$dir/cross" >/dev/null 2>"$dir/cross.err" ||
    { cat "$dir/cross.err" >&2; return 1; }
  echo "$name: epoch losses (trn,val), resumed by the same build | by the other:"
  paste -d'|' <(losses "$dir/same") <(losses "$dir/cross")
  paste -d, <(losses "$dir/same") <(losses "$dir/cross") | awk -F, -v name="$name" '
    { n++; for (i = 1; i <= 2; i++) { d = $i - $(i + 2); if (d < 0) d = -d; if (d > 1e-4) bad = 1 } }
    END { if (n != 2 || bad) { print name ": the continuations disagree beyond 1e-4, or an epoch is missing" > "/dev/stderr"; exit 1 } }'
}

direction "$this" "$other" this-to-other
direction "$other" "$this" other-to-this
echo "cross_version_resume: both directions load bit-identical state and finish"
