#pragma once
// Thread settings for LibTorch's intra-op pool and OpenBLAS, applied once at program start.
//
// LibTorch here runs element-wise ops on an OpenMP pool and every matrix product in
// OpenBLAS. Debian's OpenBLAS (libopenblas0-pthread) keeps its own pthread pool, one thread
// per core. When both pools have more than one thread they fight for the same cores: an
// OpenMP worker spins at its barrier while the OpenBLAS worker it shares a core with waits,
// and the training step runs slower (bench/README.md has the measurements).
#include <string>

namespace charnn {

struct ThreadSettings {
  int intra_op;  // at::get_num_threads(): element-wise ops, embedding, softmax, Adam
  int blas;      // OpenBLAS's threads (-1 when the BLAS in use is not OpenBLAS)
};

// Call once at startup, before the first tensor op:
//   * OpenBLAS with pthreads (Debian's default) and more than one thread: intra-op 1, so the
//     cores go to the matrix products and the two pools never oversubscribe them;
//   * OpenBLAS built with OpenMP: one shared pool, intra-op = OpenBLAS's thread count;
//   * any other BLAS: LibTorch's default.
// CHARNN_INTRA_OP_THREADS=n overrides the intra-op count (experiments).
// Returns what is in effect.
ThreadSettings configure_threads();

// Sets both pools (a value <= 0 leaves that pool as it is; a BLAS other than OpenBLAS is
// left alone).
void set_threads(const ThreadSettings& settings);
ThreadSettings current_threads();

// Sets both pools for a scope and puts back what was there before.
class ScopedThreads {
 public:
  explicit ScopedThreads(const ThreadSettings& settings) : before_(current_threads()) { set_threads(settings); }
  ~ScopedThreads() { set_threads(before_); }
  ScopedThreads(const ScopedThreads&) = delete;
  ScopedThreads& operator=(const ScopedThreads&) = delete;

 private:
  ThreadSettings before_;
};
// e.g. "intra-op 1, OpenBLAS 2 (pthreads)"
std::string describe_threads();

}  // namespace charnn
