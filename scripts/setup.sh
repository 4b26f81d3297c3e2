#!/usr/bin/env bash
# One-time (and idempotent) setup for charnn on Debian 12: packages, BLAS, corpus, build.
# run.sh sources this file and calls charnn_setup; every step is silent when already done.
#
# Environment:
#   CHARNN_TORCH        which LibTorch to build against:
#                         debian (default)  Debian's libtorch-dev 1.13, python3-torch as the reference
#                         pip               the LibTorch inside the pip `torch` wheel pinned below, in a
#                                           virtual environment under the user's cache directory whose
#                                           python is the reference
#   CHARNN_TEXT_SOURCE  a local copy of nietzsche.txt to use instead of downloading it
#   CHARNN_BUILD_DIR    build directory (default: build, or build-torch2 for CHARNN_TORCH=pip)
#   CHARNN_VENV         the pip path's virtual environment (default: see CHARNN_VENV below)
#   CHARNN_SKIP_APT=1   never call apt-get (just report what is missing)
#   CHARNN_SKIP_CORPUS=1  do not set up data/nietzsche.txt (run.sh sets it for commands that
#                       will not read it)
#   CHARNN_TESTS=1      also the packages only the test suite needs (run.sh test sets it)

CHARNN_ROOT=${CHARNN_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
CHARNN_TORCH=${CHARNN_TORCH:-debian}
# The newest torch on PyPI (a CUDA 13.2 build whose headers need C++20); numpy is pinned too,
# so a fresh machine gets what CI tested.
CHARNN_PIP_REQUIREMENTS=(torch==2.15.0 numpy==2.4.6)
CHARNN_VENV=${CHARNN_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/charnn/torch-${CHARNN_PIP_REQUIREMENTS[0]#torch==}}
if [ "$CHARNN_TORCH" = pip ]; then
  CHARNN_BUILD_DIR=${CHARNN_BUILD_DIR:-$CHARNN_ROOT/build-torch2}
else
  CHARNN_BUILD_DIR=${CHARNN_BUILD_DIR:-$CHARNN_ROOT/build}
fi
CHARNN_CORPUS=$CHARNN_ROOT/data/nietzsche.txt
CHARNN_CORPUS_URL=https://s3.amazonaws.com/text-datasets/nietzsche.txt
CHARNN_CORPUS_SHA256=23cf69874ab69d3d256099ab530ea4be24d47d9675b673bcc67cbcd6298ec647
CHARNN_CORPUS_BYTES=600901
CHARNN_PACKAGES=(libtorch-dev libgloo-dev python3-torch python3-numpy libfmt-dev catch2 libcli11-dev
                 nlohmann-json3-dev libopenblas0-pthread cmake ninja-build g++ gnuplot-nox)
# The lesson page's test opens the page in a real browser (tests/teach/page_browser.py).
CHARNN_TEST_PACKAGES=(chromium)
CHARNN_BLAS_LINK=libblas.so.3-x86_64-linux-gnu
CHARNN_OPENBLAS=/usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3

_say() { printf 'setup: %s\n' "$*" >&2; }
_die() { printf 'setup: error: %s\n' "$*" >&2; return 1; }

# Runs a command as root: directly when we are root, through sudo otherwise.
_as_root() {
  if [ "$(id -u)" -eq 0 ]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo "$@"
  else
    _die "need root for: $* (no sudo here)"
  fi
}

charnn_setup_packages() {
  local missing=() pkg packages=("${CHARNN_PACKAGES[@]}")
  [ "$CHARNN_TORCH" = pip ] && packages+=(python3-venv)
  [ "${CHARNN_TESTS:-0}" = 1 ] && packages+=("${CHARNN_TEST_PACKAGES[@]}")
  for pkg in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q '^install ok installed$' || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "${CHARNN_SKIP_APT:-0}" = 1 ]; then
    _die "missing Debian packages: ${missing[*]} (CHARNN_SKIP_APT=1, not installing)"
    return 1
  fi
  _say "installing ${missing[*]}"
  _as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
    _as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null ||
    _die "apt-get could not install: ${missing[*]}"
}

# LibTorch does its matrix products through libblas.so.3; Debian's default alternative is
# the reference (netlib) BLAS, measured at ~3 GFLOP/s against 130-185 for OpenBLAS here.
charnn_setup_blas() {
  local current
  current=$(update-alternatives --query "$CHARNN_BLAS_LINK" 2>/dev/null | sed -n 's/^Value: //p')
  [ -n "$current" ] || current=$(readlink -f /usr/lib/x86_64-linux-gnu/libblas.so.3 2>/dev/null)
  case "$current" in
    */openblas-pthread/*) return 0 ;;
  esac
  if [ ! -e "$CHARNN_OPENBLAS" ]; then
    _say "WARNING: the BLAS in use is ${current:-unknown} and OpenBLAS ($CHARNN_OPENBLAS) is not installed;"
    _say "WARNING: training will run about 50x slower. Install libopenblas0-pthread."
    return 0
  fi
  _say "switching libblas.so.3 from ${current:-unknown} to OpenBLAS"
  if ! _as_root update-alternatives --quiet --set "$CHARNN_BLAS_LINK" "$CHARNN_OPENBLAS"; then
    _say "WARNING: could not switch libblas.so.3 to OpenBLAS (it stays ${current:-unknown});"
    _say "WARNING: training will run about 50x slower. As root: update-alternatives --set $CHARNN_BLAS_LINK $CHARNN_OPENBLAS"
  fi
}

_sha256() { sha256sum "$1" | cut -d' ' -f1; }

charnn_setup_corpus() {
  if [ ! -e "$CHARNN_CORPUS" ]; then
    local src="" tmp
    for candidate in "${CHARNN_TEXT_SOURCE:-}" "$CHARNN_ROOT/../shared/data/nietzsche.txt"; do
      if [ -n "$candidate" ] && [ -f "$candidate" ]; then src=$candidate; break; fi
    done
    mkdir -p "$(dirname "$CHARNN_CORPUS")"
    tmp=$CHARNN_CORPUS.part
    if [ -n "$src" ]; then
      cp "$src" "$tmp" && chmod 644 "$tmp" || { rm -f "$tmp"; _die "could not copy the corpus from $src"; return 1; }
    else
      _say "downloading $CHARNN_CORPUS_URL"
      if command -v curl >/dev/null 2>&1; then
        curl -fsSL --retry 3 -o "$tmp" "$CHARNN_CORPUS_URL"
      elif command -v wget >/dev/null 2>&1; then
        wget -q -O "$tmp" "$CHARNN_CORPUS_URL"
      else
        false
      fi || { rm -f "$tmp"; _die "could not download $CHARNN_CORPUS_URL (no network, or no curl/wget); put the file at $CHARNN_CORPUS or set CHARNN_TEXT_SOURCE"; return 1; }
      src=$CHARNN_CORPUS_URL
    fi
    if [ "$(_sha256 "$tmp")" != "$CHARNN_CORPUS_SHA256" ]; then
      rm -f "$tmp"
      _die "the corpus from $src is not the lesson's nietzsche.txt (sha256 mismatch); expected $CHARNN_CORPUS_BYTES bytes, sha256 $CHARNN_CORPUS_SHA256"
      return 1
    fi
    mv "$tmp" "$CHARNN_CORPUS"
    return 0
  fi
  # An existing file is the user's: check it, never replace it.
  local size sum
  size=$(stat -c %s "$CHARNN_CORPUS")
  sum=$(_sha256 "$CHARNN_CORPUS")
  if [ "$sum" != "$CHARNN_CORPUS_SHA256" ]; then
    _die "$CHARNN_CORPUS is not the lesson's corpus: $size bytes, sha256 $sum;" \
         "expected $CHARNN_CORPUS_BYTES bytes, sha256 $CHARNN_CORPUS_SHA256." \
         "It was left as it is: move it away (the right file is copied or downloaded then), or fix it."
    return 1
  fi
}

# CHARNN_TORCH=pip: the pinned wheels in a virtual environment of their own, outside the
# checkout, so every clone and build directory on the machine shares one. A marker written
# after a complete install makes later runs a file read; an interrupted install is redone.
charnn_setup_venv() {
  [ "$CHARNN_TORCH" = pip ] || return 0
  local marker=$CHARNN_VENV/charnn-requirements.txt log
  [ "$(cat "$marker" 2>/dev/null)" = "${CHARNN_PIP_REQUIREMENTS[*]}" ] && return 0
  _say "installing ${CHARNN_PIP_REQUIREMENTS[*]} into $CHARNN_VENV (several GB: minutes the first time)"
  rm -rf "$CHARNN_VENV"
  mkdir -p "$(dirname "$CHARNN_VENV")"
  log=$(dirname "$CHARNN_VENV")/$(basename "$CHARNN_VENV").log
  if ! { /usr/bin/python3 -m venv "$CHARNN_VENV" &&
         "$CHARNN_VENV/bin/python" -m pip install --no-input --progress-bar off "${CHARNN_PIP_REQUIREMENTS[@]}"; } \
       >"$log" 2>&1; then
    tail -n 20 "$log" >&2
    _die "could not install ${CHARNN_PIP_REQUIREMENTS[*]} into $CHARNN_VENV (log: $log)"
    return 1
  fi
  echo "${CHARNN_PIP_REQUIREMENTS[*]}" >"$marker"
}

# charnn_build [target...]: configure once (Release, Ninja), then build the given targets
# (everything when none is given).
charnn_build() {
  local log=$CHARNN_BUILD_DIR/setup-build.log
  mkdir -p "$CHARNN_BUILD_DIR"
  if [ ! -f "$CHARNN_BUILD_DIR/build.ninja" ]; then
    _say "configuring $CHARNN_BUILD_DIR (Release, Ninja)"
    # Debian's LibTorch is found in /usr; the wheel's through its CMake package directory
    # (cmake/TorchPython.cmake then takes the python beside it as the reference).
    local torch_args=() prefix
    if [ "$CHARNN_TORCH" = pip ]; then
      prefix=$("$CHARNN_VENV/bin/python" -c 'import torch.utils; print(torch.utils.cmake_prefix_path)') ||
        { _die "$CHARNN_VENV/bin/python cannot import torch; remove $CHARNN_VENV and run again"; return 1; }
      torch_args=("-DCMAKE_PREFIX_PATH=$prefix")
    fi
    cmake -S "$CHARNN_ROOT" -B "$CHARNN_BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release "${torch_args[@]}" >"$log" 2>&1 ||
      { cat "$log" >&2; _die "cmake configure failed"; return 1; }
  fi
  # Quiet when there is nothing to do; a first build takes a few minutes on 2 cores.
  if ninja -C "$CHARNN_BUILD_DIR" -n "$@" 2>/dev/null | grep -q '^ninja: no work to do'; then
    return 0
  fi
  _say "building ${*:-everything} in $CHARNN_BUILD_DIR"
  # A torch translation unit takes over a gigabyte of memory (bench/README.md, "Build"): one job per core.
  if ! ninja -C "$CHARNN_BUILD_DIR" -j "$(nproc)" "$@" >"$log" 2>&1; then
    cat "$log" >&2
    _die "build failed (log: $log)"
    return 1
  fi
  grep -i 'warning:' "$log" >&2 || true
}

# charnn_setup [target...]: everything a command needs before it runs.
charnn_setup() {
  case "$CHARNN_TORCH" in
    debian | pip) ;;
    *) _die "CHARNN_TORCH=$CHARNN_TORCH: expected debian or pip"; return 1 ;;
  esac
  charnn_setup_packages &&
    charnn_setup_blas &&
    { [ "${CHARNN_SKIP_CORPUS:-0}" = 1 ] || charnn_setup_corpus; } &&
    charnn_setup_venv &&
    charnn_build "$@"
}

# Run directly: set up and build everything.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -euo pipefail
  charnn_setup "$@"
fi
