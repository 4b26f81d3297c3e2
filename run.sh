#!/usr/bin/env bash
# The one entry point: sets up what is missing (Debian packages, OpenBLAS, the corpus, the
# build; see scripts/setup.sh), then runs what was asked.
#   ./run.sh test                 build everything and run the test suite
#   ./run.sh bench [args]         the benchmark, C++ against the Python reference (bench/run.sh)
#   ./run.sh page [args]          the lesson page from a `charnn lesson` run (docs/make_page.py)
#   ./run.sh setup                only the setup
#   ./run.sh <subcommand> [args]  build/app/charnn <subcommand> [args], e.g. ./run.sh train --help
# Each builds against Debian's LibTorch 1.13 into build/; with CHARNN_TORCH=pip, against the
# pip torch wheel's LibTorch 2.x (installed into a cached virtual environment) into build-torch2/.
set -euo pipefail
cd "$(dirname "$0")"
source scripts/setup.sh

cmd=${1:-}
case "$cmd" in
  "" | -h | --help)
    sed -n '2,11s/^# \{0,1\}//p' "$0"
    exit 0 ;;
  setup)
    charnn_setup ;;
  test)
    export CHARNN_TESTS=1
    charnn_setup
    # One test process per core, and one OpenMP thread per process (LibTorch's intra-op pool, in
    # C++ and in Python): two tests at once each with a pool as wide as the machine oversubscribe
    # it, and a pool's threads spin while they wait (here the pip build's suite took 570 s with
    # two-thread pools, 323 s with one).
    # (nproc first: it counts OMP_NUM_THREADS as the cores it may use.)
    jobs=$(nproc)
    export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
    exec ctest --test-dir "$CHARNN_BUILD_DIR" --output-on-failure -j "$jobs" ;;
  bench)
    shift
    charnn_setup bench/charnn_bench
    # The binary and the python of this build's LibTorch (cmake/TorchPython.cmake chose it).
    export CHARNN_BENCH_BIN=$CHARNN_BUILD_DIR/bench/charnn_bench
    : "${CHARNN_PYTHON:=$(sed -n 's/^CHARNN_TORCH_PYTHON:INTERNAL=//p' "$CHARNN_BUILD_DIR/CMakeCache.txt")}"
    export CHARNN_PYTHON
    exec bench/run.sh "$@" ;;
  page)
    shift
    # runs/lesson -> docs/lesson.html unless --lesson / --out say otherwise; the python of this
    # build's torch runs it (the twin's shape walks run there).
    charnn_setup app/charnn
    : "${CHARNN_PYTHON:=$(sed -n 's/^CHARNN_TORCH_PYTHON:INTERNAL=//p' "$CHARNN_BUILD_DIR/CMakeCache.txt")}"
    exec "${CHARNN_PYTHON:-python3}" docs/make_page.py --charnn "$CHARNN_BUILD_DIR/app/charnn" "$@" ;;
  *)
    # Only a command that will read the default text needs the lesson's corpus: `sample`, or
    # `train --text mine.txt`, works without it (and without a network).
    CHARNN_SKIP_CORPUS=1
    if [ "$cmd" = train ] || [ "$cmd" = lesson ] || [ "$cmd" = shapes ] || [ "$cmd" = batches ]; then
      case " $* " in
        *" --text "* | *" --text="* | *" --resume "* | *" --resume="*) ;;
        *) [ -n "${CHARNN_TEXT:-}" ] || CHARNN_SKIP_CORPUS=0 ;;
      esac
    fi
    export CHARNN_SKIP_CORPUS
    charnn_setup app/charnn
    exec "$CHARNN_BUILD_DIR/app/charnn" "$@" ;;
esac
