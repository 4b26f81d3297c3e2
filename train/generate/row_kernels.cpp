#include "train/generate/row_kernels.h"

#include <algorithm>

#include "models/fused/gate_kernels.h"

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

// Eight rows by 32 columns: 16 accumulators of the 32 registers, each weight vector loaded once
// for eight rows (the AVX2 kernel loads it twice as often, for four), and the columns past the
// last full block masked instead of left to the portable loop.
template <int R>
__attribute__((target("avx512f"))) void rows_avx512(const float* in, const float* in_add, int64_t k,
                                                    const float* w_t, int64_t n, const float* bias, float* out) {
  for (int64_t j = 0; j < n; j += 32) {
    const auto lanes = [](int64_t left) {
      return static_cast<__mmask16>(left >= 16 ? 0xFFFF : left <= 0 ? 0 : (1u << left) - 1);
    };
    const __mmask16 m0 = lanes(n - j), m1 = lanes(n - j - 16);
    __m512 acc[R][2];
    for (int r = 0; r < R; ++r) {
      acc[r][0] = _mm512_maskz_loadu_ps(m0, bias + j);
      acc[r][1] = _mm512_maskz_loadu_ps(m1, bias + j + 16);
    }
    for (int64_t kk = 0; kk < k; ++kk) {
      const __m512 w0 = _mm512_maskz_loadu_ps(m0, w_t + kk * n + j);
      const __m512 w1 = _mm512_maskz_loadu_ps(m1, w_t + kk * n + j + 16);
      for (int r = 0; r < R; ++r) {
        const __m512 a = _mm512_set1_ps(input_at(in, in_add, r, k, kk));
        acc[r][0] = _mm512_fmadd_ps(a, w0, acc[r][0]);
        acc[r][1] = _mm512_fmadd_ps(a, w1, acc[r][1]);
      }
    }
    for (int r = 0; r < R; ++r) {
      _mm512_mask_storeu_ps(out + r * n + j, m0, acc[r][0]);
      _mm512_mask_storeu_ps(out + r * n + j + 16, m1, acc[r][1]);
    }
  }
}

template <int R>
void rows_avx512_tail(const float* in, const float* in_add, int64_t rows, int64_t k, const float* w_t, int64_t n,
                      const float* bias, float* out) {
  if constexpr (R > 0) {
    if (rows == R) return rows_avx512<R>(in, in_add, k, w_t, n, bias, out);
    rows_avx512_tail<R - 1>(in, in_add, rows, k, w_t, n, bias, out);
  }
}

void rows_affine_avx512(const float* in, const float* in_add, int64_t rows, int64_t k, const float* w_t, int64_t n,
                        const float* bias, float* out) {
  for (int64_t r = 0; r < rows; r += 8) {
    rows_avx512_tail<8>(in + r * k, in_add, std::min<int64_t>(8, rows - r), k, w_t, n, bias, out + r * n);
  }
}

void rows_affine_avx2(const float* in, const float* in_add, int64_t rows, int64_t k, const float* w_t, int64_t n,
                      const float* bias, float* out) {
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
}
#endif

}  // namespace

// The instruction set is the fused layers' choice (models/fused/gate_kernels.h): the widest the
// CPU has, capped by ATEN_CPU_CAPABILITY, and settable by tests to run each kernel.
void rows_affine(const float* in, const float* in_add, int64_t rows, int64_t k, const float* w_t, int64_t n,
                 const float* bias, float* out) {
  using fused::kernels::Isa;
#ifdef CHARNN_ROW_KERNELS_X86
  switch (fused::kernels::isa()) {
    case Isa::avx512: return rows_affine_avx512(in, in_add, rows, k, w_t, n, bias, out);
    case Isa::avx2: return rows_affine_avx2(in, in_add, rows, k, w_t, n, bias, out);
    case Isa::baseline: break;
  }
#endif
  rows_affine_portable(in, in_add, rows, k, w_t, n, bias, out, 0);
}

const char* rows_affine_kernel() {
#ifdef CHARNN_ROW_KERNELS_X86
  return fused::kernels::to_string(fused::kernels::isa());
#else
  return "portable";
#endif
}

}  // namespace charnn
