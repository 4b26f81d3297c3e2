#!/usr/bin/env bash
# The benchmark in one command: C++ (build/bench/charnn_bench) against the Python reference
# (notebooks-ref/lesson6.py), interleaved. Arguments go to bench/bench.py (--help lists them).
#   CHARNN_BENCH_BIN  the charnn_bench binary (default: build/bench/charnn_bench)
#   CHARNN_PYTHON     a python3 that can `import torch` (default: found as cmake/TorchPython.cmake does)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin=${CHARNN_BENCH_BIN:-$root/build/bench/charnn_bench}
[ -x "$bin" ] || { echo "bench: $bin is not built (./run.sh bench builds it)" >&2; exit 1; }

python=""
for candidate in "${CHARNN_PYTHON:-}" "$(command -v python3 || true)" /usr/bin/python3 /usr/local/bin/python3; do
  if [ -n "$candidate" ] && [ -x "$candidate" ] && "$candidate" -c "import torch, numpy" 2>/dev/null; then
    python=$candidate
    break
  fi
done
[ -n "$python" ] || { echo "bench: no python3 here can 'import torch, numpy' (apt-get install python3-torch, or set CHARNN_PYTHON)" >&2; exit 1; }

exec "$python" "$root/bench/bench.py" --bin "$bin" "$@"
