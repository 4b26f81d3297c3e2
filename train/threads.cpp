#include "train/threads.h"

#include <dlfcn.h>

#include <ATen/Parallel.h>
#include <fmt/format.h>

namespace charnn {
namespace {

// OpenBLAS's controls, looked up at run time: libblas.so.3 may be another BLAS.
template <typename Fn>
Fn openblas_fn(const char* name) {
  return reinterpret_cast<Fn>(dlsym(RTLD_DEFAULT, name));
}

}  // namespace

ThreadSettings configure_threads() { return current_threads(); }

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
  return fmt::format("intra-op {}, OpenBLAS {}", s.intra_op, s.blas);
}

}  // namespace charnn
