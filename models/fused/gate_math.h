#pragma once
// exp, sigmoid and tanh on one float, written so that a loop over them vectorises. std::exp and
// std::tanh stay calls into libm inside a loop (no vector libm without -ffast-math), which would
// make the gate kernels scalar. These are Cephes' single-precision approximations (expf, tanhf):
// within a few ulp of the correctly rounded value, enough for the 1e-5 relative the fused layers
// promise against ATen's Sleef kernels. No branches (both sides of a select are computed), no
// libm, and no float-to-int conversion, so a NaN goes through as NaN without undefined behaviour.
#include <cstdint>
#include <cstring>

namespace charnn::fused::math {

inline uint32_t bits_of(float f) {
  uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  return u;
}

inline float float_of(uint32_t u) {
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}

inline float exp(float x) {
  // Clamped so that 2^n below stays a normal float; exp overflows or underflows beyond anyway.
  constexpr float kHi = 88.3762626647949f;
  constexpr float kLo = -87.3365447504f;
  x = x > kHi ? kHi : x;
  x = x < kLo ? kLo : x;
  // n = round(x / ln 2): adding 1.5 * 2^23 leaves n in the low mantissa bits of t, so n as a
  // float is t - 1.5 * 2^23 and n as an integer is the difference of the bit patterns.
  constexpr float kShift = 12582912.0f;
  const float t = x * 1.44269504088896341f + kShift;
  const float n = t - kShift;
  // x - n ln 2 with ln 2 in two parts, so the reduced argument keeps its low bits.
  const float r = (x - n * 0.693359375f) - n * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * (r * r) + r + 1.0f;
  // 2^n built from its exponent field; unsigned, so a NaN's garbage bits cannot overflow.
  const uint32_t scale = (bits_of(t) - bits_of(kShift) + 127u) << 23;
  return p * float_of(scale);
}

inline float sigmoid(float x) { return 1.0f / (1.0f + exp(-x)); }

inline float tanh(float x) {
  // Near 0, 1 - 2 / (e^2x + 1) cancels: an odd polynomial there, the exp form beyond.
  const float s = x * x;
  float p = -5.70498872745e-3f;
  p = p * s + 2.06390887954e-2f;
  p = p * s - 5.37397155531e-2f;
  p = p * s + 1.33314422036e-1f;
  p = p * s - 3.33332819422e-1f;
  const float near_zero = p * s * x + x;
  const float far = 1.0f - 2.0f / (exp(2.0f * x) + 1.0f);
  const float ax = x < 0.0f ? -x : x;
  return ax < 0.625f ? near_zero : far;
}

}  // namespace charnn::fused::math
