#!/usr/bin/env bash
# Regenerates the committed seed corpus in fuzz/corpus/ (small files only) with a built CLI
# (files named found-* are inputs the fuzzer found, kept as it wrote them):
#   fuzz/make_seeds.sh build/app/charnn
# The checkpoint seeds come from the run fuzz_checkpoint.cpp rebuilds (same text, same
# settings); each starts with the byte that selects its reader there.
set -euo pipefail
cli=${1:?usage: fuzz/make_seeds.sh path/to/charnn}
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

printf 'the cat sat on the mat; the dog sat on the log.\n' >"$work/text.txt"
"$cli" train --no-progress --text "$work/text.txt" --out "$work/run" --model char-rnn --n-fac 2 --n-hidden 3 \
  --bs 4 --shards 1 --fit 1@1e-2 --seed 0 >/dev/null 2>&1

seed() {  # seed <dir> <name> <selector byte or ""> <file>
  { [ -n "$3" ] && printf "\\x$3"; cat "$4"; } >"$here/corpus/$1/$2"
}
mkdir -p "$here/corpus/checkpoint" "$here/corpus/corpus"
seed checkpoint model.pt 00 "$work/run/model.pt"
seed checkpoint config.json 01 "$work/run/config.json"
seed checkpoint train_state.pt 02 "$work/run/train_state.pt"
# Found by fuzzing: a number too large for any integer type (was undefined behaviour).
sed 's/"n_hidden": 3/"n_hidden": 3.11111e+120/' "$work/run/config.json" >"$work/huge.json"
seed checkpoint config-huge-number.json 01 "$work/huge.json"

printf 'the cat sat on the mat.\n' >"$here/corpus/corpus/ascii.txt"
printf 'caf\xc3\xa9 \xe6\xbc\xa2\xe5\xad\x97 \xf0\x9f\x98\x80 \xf0\x9d\x94\x98\n' >"$here/corpus/corpus/utf8.txt"
printf 'caf\xe9 \xed\xa0\x80 \xe0\x80\xaf \xf4\x90\x80\x80 \xc3' >"$here/corpus/corpus/invalid.txt"
ls -l "$here/corpus/checkpoint" "$here/corpus/corpus"
