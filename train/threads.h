#pragma once
// Thread settings for LibTorch's intra-op pool and OpenBLAS, applied once at program start.
#include <string>

namespace charnn {

struct ThreadSettings {
  int intra_op;  // at::set_num_threads: element-wise ops, embedding, softmax, Adam
  int blas;      // openblas_set_num_threads: every matrix product (-1: BLAS is not OpenBLAS)
};

// Applies the project's policy (see threads.cpp) and returns what is in effect.
ThreadSettings configure_threads();
// Sets both pools; a BLAS other than OpenBLAS is left alone.
void set_threads(const ThreadSettings& settings);
ThreadSettings current_threads();
std::string describe_threads();

}  // namespace charnn
