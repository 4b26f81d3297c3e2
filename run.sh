#!/usr/bin/env bash
# The one entry point: sets up what is missing (Debian packages, OpenBLAS, the corpus, the
# build; see scripts/setup.sh), then runs what was asked.
#   ./run.sh test                 build everything and run the test suite
#   ./run.sh bench [args]         the benchmark, C++ against the Python reference (bench/run.sh)
#   ./run.sh setup                only the setup
#   ./run.sh <subcommand> [args]  build/app/charnn <subcommand> [args], e.g. ./run.sh train --help
set -euo pipefail
cd "$(dirname "$0")"
source scripts/setup.sh

cmd=${1:-}
case "$cmd" in
  "" | -h | --help)
    sed -n '2,8s/^# \{0,1\}//p' "$0"
    exit 0 ;;
  setup)
    charnn_setup ;;
  test)
    charnn_setup
    exec ctest --test-dir "$CHARNN_BUILD_DIR" --output-on-failure ;;
  bench)
    shift
    charnn_setup bench/charnn_bench
    exec bench/run.sh "$@" ;;
  *)
    charnn_setup app/charnn
    exec "$CHARNN_BUILD_DIR/app/charnn" "$@" ;;
esac
