#include "common/threads.h"

#include <dlfcn.h>

#include <ATen/Parallel.h>
#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <string>

namespace charnn {
namespace {

// OpenBLAS's controls, looked up at run time: libblas.so.3 may be another BLAS.
template <typename Fn>
Fn openblas_fn(const char* name) {
  return reinterpret_cast<Fn>(dlsym(RTLD_DEFAULT, name));
}

// openblas_get_parallel(): 0 sequential, 1 pthreads, 2 OpenMP; -1 when not OpenBLAS.
int openblas_parallel() {
  auto fn = openblas_fn<int (*)()>("openblas_get_parallel");
  return fn ? fn() : -1;
}

int env_int(const char* name) {
  const char* v = std::getenv(name);
  if (!v || !*v) return 0;
  try {
    return std::max(0, std::stoi(v));
  } catch (const std::exception&) {
    return 0;
  }
}

}  // namespace

ThreadSettings configure_threads() {
  const auto blas = current_threads().blas;
  int intra_op = env_int("CHARNN_INTRA_OP_THREADS");
  if (intra_op == 0) {
    switch (openblas_parallel()) {
      case 1: intra_op = blas > 1 ? 1 : 0; break;  // two pools: give the cores to OpenBLAS
      case 2: intra_op = blas; break;              // one OpenMP pool for both
      default: break;                              // not OpenBLAS, or sequential
    }
  }
  if (intra_op > 0) at::set_num_threads(intra_op);
  return current_threads();
}

void set_threads(const ThreadSettings& s) {
  if (s.intra_op > 0) at::set_num_threads(s.intra_op);
  if (auto set = openblas_fn<void (*)(int)>("openblas_set_num_threads"); set && s.blas > 0) set(s.blas);
}

ThreadSettings current_threads() {
  auto get = openblas_fn<int (*)()>("openblas_get_num_threads");
  return {at::get_num_threads(), get ? get() : -1};
}

std::string describe_threads() {
  const auto s = current_threads();
  static constexpr const char* kinds[] = {"sequential", "pthreads", "OpenMP"};
  const int p = openblas_parallel();
  if (p < 0) return fmt::format("intra-op {}, BLAS not OpenBLAS", s.intra_op);
  return fmt::format("intra-op {}, OpenBLAS {} ({})", s.intra_op, s.blas, p <= 2 ? kinds[p] : "?");
}

}  // namespace charnn
