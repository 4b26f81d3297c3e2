#!/bin/sh
# `cmake --install` into a fresh prefix, then charnn from there, in a directory outside the
# source and build trees: --version, and a tiny training run on the corpus installed with it.
#   tests/install_test.sh CMAKE BUILD_DIR PREFIX EXPECTED_VERSION
set -eu
cmake=$1 build=$2 prefix=$3 expected=$4
rm -rf "$prefix"
"$cmake" --install "$build" --prefix "$prefix" >/dev/null
cd "$prefix"
unset CHARNN_TEXT
version=$(./bin/charnn --version)
[ "$version" = "$expected" ] || { echo "--version printed '$version', expected '$expected'" >&2; exit 1; }
./bin/charnn train --no-progress --max-chars 20000 --n-hidden 16 --n-fac 8 --bs 64 --fit 1@1e-2 --out run
corpus=$(cd share/charnn && pwd -P)/nietzsche.txt
grep -qF "\"text\": \"$corpus\"" run/config.json ||
  { echo "the run did not read the installed corpus $corpus:" >&2; cat run/config.json >&2; exit 1; }
