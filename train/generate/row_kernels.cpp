#include "train/generate/row_kernels.h"

#include <algorithm>

#if defined(__x86_64__)
#include <immintrin.h>
#define CHARNN_ROW_KERNELS_X86 1
#endif

namespace charnn {
namespace {

float input_at(const float* in, const float* in_add, int64_t r, int64_t k, int64_t kk) {
  return in_add ? in[r * k + kk] + in_add[kk] : in[r * k + kk];
}

// Columns [j0, n) of every row, one output at a time (also the tail of the vector kernel).
void rows_affine_portable(const float* in, const float* in_add, int64_t rows, int64_t k, const float* w_t, int64_t n,
                          const float* bias, float* out, int64_t j0) {
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t j = j0; j < n; ++j) {
      float acc = bias[j];
      for (int64_t kk = 0; kk < k; ++kk) acc += input_at(in, in_add, r, k, kk) * w_t[kk * n + j];
      out[r * n + j] = acc;
    }
  }
}

#ifdef CHARNN_ROW_KERNELS_X86
// R rows x 16 columns of accumulators stay in registers while k runs; w_t is read once per
// block of rows.
template <int R>
__attribute__((target("avx2,fma"))) void block_avx2(const float* in, const float* in_add, int64_t k, const float* w_t,
                                                     int64_t n, const float* bias, float* out, int64_t j) {
  __m256 acc[R][2];
  for (int r = 0; r < R; ++r) {
    acc[r][0] = _mm256_loadu_ps(bias + j);
    acc[r][1] = _mm256_loadu_ps(bias + j + 8);
  }
  for (int64_t kk = 0; kk < k; ++kk) {
    const __m256 w0 = _mm256_loadu_ps(w_t + kk * n + j);
    const __m256 w1 = _mm256_loadu_ps(w_t + kk * n + j + 8);
    for (int r = 0; r < R; ++r) {
      const __m256 a = _mm256_set1_ps(input_at(in, in_add, r, k, kk));
      acc[r][0] = _mm256_fmadd_ps(a, w0, acc[r][0]);
      acc[r][1] = _mm256_fmadd_ps(a, w1, acc[r][1]);
    }
  }
  for (int r = 0; r < R; ++r) {
    _mm256_storeu_ps(out + r * n + j, acc[r][0]);
    _mm256_storeu_ps(out + r * n + j + 8, acc[r][1]);
  }
}

template <int R>
__attribute__((target("avx2,fma"))) void rows_avx2(const float* in, const float* in_add, int64_t k, const float* w_t,
                                                    int64_t n, const float* bias, float* out) {
  int64_t j = 0;
  for (; j + 16 <= n; j += 16) block_avx2<R>(in, in_add, k, w_t, n, bias, out, j);
  rows_affine_portable(in, in_add, R, k, w_t, n, bias, out, j);
}

bool has_avx2_fma() {
  static const bool yes = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return yes;
}
#endif

}  // namespace

void rows_affine(const float* in, const float* in_add, int64_t rows, int64_t k, const float* w_t, int64_t n,
                 const float* bias, float* out) {
#ifdef CHARNN_ROW_KERNELS_X86
  if (has_avx2_fma()) {
    // Four rows at a time: 8 accumulators, 2 weight vectors and a broadcast fit the 16 registers.
    for (int64_t r = 0; r < rows; r += 4) {
      const float* in_r = in + r * k;
      float* out_r = out + r * n;
      switch (std::min<int64_t>(4, rows - r)) {
        case 4: rows_avx2<4>(in_r, in_add, k, w_t, n, bias, out_r); break;
        case 3: rows_avx2<3>(in_r, in_add, k, w_t, n, bias, out_r); break;
        case 2: rows_avx2<2>(in_r, in_add, k, w_t, n, bias, out_r); break;
        default: rows_avx2<1>(in_r, in_add, k, w_t, n, bias, out_r); break;
      }
    }
    return;
  }
#endif
  rows_affine_portable(in, in_add, rows, k, w_t, n, bias, out, 0);
}

const char* rows_affine_kernel() {
#ifdef CHARNN_ROW_KERNELS_X86
  if (has_avx2_fma()) return "avx2+fma";
#endif
  return "portable";
}

}  // namespace charnn
