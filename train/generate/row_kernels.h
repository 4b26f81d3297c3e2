#pragma once
// The few-row products of generation, without BLAS.
//
// Generating a character multiplies a handful of hidden-state rows (one per window chain,
// train/generate/window_chains.h) by a weight matrix. OpenBLAS repacks the whole weight on every such
// call, and that copy costs more than the arithmetic; here the weight is read in place, in
// register blocks, with AVX-512 or AVX2 and FMA where the CPU has them (checked at run time).
#include <cstdint>

namespace charnn {

// out[r, :] = bias + (in[r, :] + in_add) * w_t  for every r < rows, where w_t is the weight
// transposed, [k, n] row-major; in is [rows, k], out [rows, n], in_add [k] or null. Each
// output is bias + the products in k order, so all rows are computed alike.
void rows_affine(const float* in, const float* in_add, int64_t rows, int64_t k, const float* w_t, int64_t n,
                 const float* bias, float* out);

// Which kernel rows_affine runs now: the fused layers' instruction set's name.
const char* rows_affine_kernel();

}  // namespace charnn
