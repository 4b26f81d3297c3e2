// Compiled with -fno-trapping-math (the selects in gate_math.h then if-convert and the loops
// vectorise; results are the same, only floating-point traps are assumed off, as everywhere in
// LibTorch) and -ffp-contract=fast (the AVX2 and AVX-512 variants fuse multiply-adds):
// CMakeLists.txt.
#include "models/fused/gate_kernels.h"

#include <atomic>
#include <cstdlib>
#include <cstring>

#include "models/fused/gate_math.h"

namespace charnn::fused::kernels {
namespace {

using math::sigmoid;
using math::tanh;

// Each row is one loop over the hidden units, with one restrict pointer per gate block: GCC
// vectorises such a loop over j (it does not when the blocks are offsets from one pointer in the
// caller's row loop: "complicated access pattern").
inline void rnn_forward_row(int64_t n, float* __restrict h) {
  for (int64_t j = 0; j < n; ++j) h[j] = tanh(h[j]);
}

inline void rnn_backward_row(int64_t n, const float* __restrict go, const float* __restrict dh,
                             const float* __restrict h, float* __restrict dpre) {
  for (int64_t j = 0; j < n; ++j) dpre[j] = (go[j] + dh[j]) * (1.0f - h[j] * h[j]);
}

// The whole batch is one row for the tanh RNN: its step's blocks are [B, H] without gates.
inline void rnn_forward_body(const RnnForward& s) { rnn_forward_row(s.batch * s.hidden, s.h); }

inline void rnn_backward_body(const RnnBackward& s) {
  rnn_backward_row(s.batch * s.hidden, s.grad_out, s.dh, s.h, s.dpre);
}

inline void gru_forward_row(int64_t H, float* __restrict gr, float* __restrict gz, float* __restrict gn,
                            const float* __restrict hr, const float* __restrict hz, const float* __restrict hn,
                            const float* __restrict hp, float* __restrict h) {
  for (int64_t j = 0; j < H; ++j) {
    const float r = sigmoid(gr[j] + hr[j]);
    const float z = sigmoid(gz[j] + hz[j]);
    const float n = tanh(gn[j] + r * hn[j]);
    gr[j] = r;
    gz[j] = z;
    gn[j] = n;
    h[j] = (hp[j] - n) * z + n;  // ATen's order: (h - n) * z + n
  }
}

inline void gru_forward_body(const GruForward& s) {
  const int64_t H = s.hidden;
  for (int64_t b = 0; b < s.batch; ++b) {
    float* g = s.gates + b * 3 * H;
    const float* hg = s.hgates + b * 3 * H;
    gru_forward_row(H, g, g + H, g + 2 * H, hg, hg + H, hg + 2 * H, s.h_prev + b * H, s.h + b * H);
  }
}

// Pointers to the three gate blocks of one row of [B, 3H].
struct Gates3 {
  float* __restrict r;
  float* __restrict z;
  float* __restrict n;
};

inline void gru_backward_row(int64_t H, const float* __restrict go, const float* __restrict dh,
                             const float* __restrict r_, const float* __restrict z_, const float* __restrict n_,
                             const float* __restrict hn, const float* __restrict hp, Gates3 dg, Gates3 dhg,
                             float* __restrict dhp) {
  for (int64_t j = 0; j < H; ++j) {
    const float r = r_[j], z = z_[j], n = n_[j];
    const float d = go[j] + dh[j];
    const float dn = d * (1.0f - z) * (1.0f - n * n);
    const float dz = d * (hp[j] - n) * z * (1.0f - z);
    const float dr = dn * hn[j] * r * (1.0f - r);
    dg.r[j] = dr;
    dg.z[j] = dz;
    dg.n[j] = dn;
    dhg.r[j] = dr;
    dhg.z[j] = dz;
    dhg.n[j] = dn * r;
    dhp[j] = d * z;
  }
}

inline void gru_backward_body(const GruBackward& s) {
  const int64_t H = s.hidden;
  for (int64_t b = 0; b < s.batch; ++b) {
    const float* g = s.gates + b * 3 * H;
    float* dg = s.dgates + b * 3 * H;
    float* dhg = s.dhgates + b * 3 * H;
    gru_backward_row(H, s.grad_out + b * H, s.dh + b * H, g, g + H, g + 2 * H, s.hgates + b * 3 * H + 2 * H,
                     s.h_prev + b * H, {dg, dg + H, dg + 2 * H}, {dhg, dhg + H, dhg + 2 * H}, s.dh_prev + b * H);
  }
}

// Pointers to the four gate blocks of one row of [B, 4H].
struct Gates4 {
  float* __restrict i;
  float* __restrict f;
  float* __restrict g;
  float* __restrict o;
};

inline void lstm_forward_row(int64_t H, Gates4 a, const float* __restrict cp, float* __restrict c,
                             float* __restrict tc, float* __restrict h) {
  for (int64_t j = 0; j < H; ++j) {
    const float i = sigmoid(a.i[j]);
    const float f = sigmoid(a.f[j]);
    const float g = tanh(a.g[j]);
    const float o = sigmoid(a.o[j]);
    a.i[j] = i;
    a.f[j] = f;
    a.g[j] = g;
    a.o[j] = o;
    const float cj = f * cp[j] + i * g;
    const float t = tanh(cj);
    c[j] = cj;
    tc[j] = t;
    h[j] = o * t;
  }
}

inline void lstm_forward_body(const LstmForward& s) {
  const int64_t H = s.hidden;
  for (int64_t b = 0; b < s.batch; ++b) {
    float* g = s.gates + b * 4 * H;
    lstm_forward_row(H, {g, g + H, g + 2 * H, g + 3 * H}, s.c_prev + b * H, s.c + b * H, s.tanh_c + b * H,
                     s.h + b * H);
  }
}

inline void lstm_backward_row(int64_t H, const float* __restrict go, const float* __restrict dh,
                              const float* __restrict i_, const float* __restrict f_, const float* __restrict g_,
                              const float* __restrict o_, const float* __restrict cp, const float* __restrict tc,
                              float* __restrict dc, Gates4 dg) {
  for (int64_t j = 0; j < H; ++j) {
    const float i = i_[j], f = f_[j], g = g_[j], o = o_[j], t = tc[j];
    const float d = go[j] + dh[j];
    const float dcj = dc[j] + d * o * (1.0f - t * t);
    dg.i[j] = dcj * g * i * (1.0f - i);
    dg.f[j] = dcj * cp[j] * f * (1.0f - f);
    dg.g[j] = dcj * i * (1.0f - g * g);
    dg.o[j] = d * t * o * (1.0f - o);
    dc[j] = dcj * f;
  }
}

inline void lstm_backward_body(const LstmBackward& s) {
  const int64_t H = s.hidden;
  for (int64_t b = 0; b < s.batch; ++b) {
    const float* g = s.gates + b * 4 * H;
    float* dg = s.dgates + b * 4 * H;
    lstm_backward_row(H, s.grad_out + b * H, s.dh + b * H, g, g + H, g + 2 * H, g + 3 * H, s.c_prev + b * H,
                      s.tanh_c + b * H, s.dc + b * H, {dg, dg + H, dg + 2 * H, dg + 3 * H});
  }
}

#if defined(__x86_64__) || defined(__i386__)
#define CHARNN_FUSED_X86 1
bool cpu_runs(Isa isa) {
  switch (isa) {
    case Isa::baseline:
      return true;
    case Isa::avx2:
      return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    case Isa::avx512:
      return cpu_runs(Isa::avx2) && __builtin_cpu_supports("avx512f");
  }
  return false;
}
#else
#define CHARNN_FUSED_X86 0
bool cpu_runs(Isa isa) { return isa == Isa::baseline; }
#endif

Isa initial_isa() {
  const char* capability = std::getenv("ATEN_CPU_CAPABILITY");
  const bool capped_default = capability && std::strcmp(capability, "default") == 0;
  const bool capped_avx2 = capability && std::strcmp(capability, "avx2") == 0;
  if (!capped_default && !capped_avx2 && cpu_runs(Isa::avx512)) return Isa::avx512;
  if (!capped_default && cpu_runs(Isa::avx2)) return Isa::avx2;
  return Isa::baseline;
}

std::atomic<Isa>& current_isa() {
  static std::atomic<Isa> choice{initial_isa()};
  return choice;
}

}  // namespace

Isa isa() { return current_isa().load(std::memory_order_relaxed); }

bool set_isa(Isa choice) {
  if (!cpu_runs(choice)) return false;
  current_isa().store(choice, std::memory_order_relaxed);
  return true;
}

const char* to_string(Isa isa) {
  switch (isa) {
    case Isa::avx2:
      return "avx2+fma";
    case Isa::avx512:
      return "avx512";
    case Isa::baseline:
      break;
  }
  return "baseline";
}

// Each kernel three times from the same body: for the build's baseline, for AVX2 + FMA and for
// AVX-512. flatten inlines the math into each, so each variant is compiled whole for its
// instruction set.
#if CHARNN_FUSED_X86
#define CHARNN_FUSED_KERNEL(NAME, STEP)                                                        \
  namespace {                                                                                  \
  __attribute__((flatten)) void NAME##_baseline(const STEP& s) { NAME##_body(s); }            \
  __attribute__((target("avx2,fma"), flatten)) void NAME##_avx2(const STEP& s) {              \
    NAME##_body(s);                                                                            \
  }                                                                                            \
  __attribute__((target("avx512f,avx2,fma"), flatten)) void NAME##_avx512(const STEP& s) {    \
    NAME##_body(s);                                                                            \
  }                                                                                            \
  }                                                                                            \
  void NAME(const STEP& s) {                                                                   \
    switch (isa()) {                                                                           \
      case Isa::avx512:                                                                        \
        return NAME##_avx512(s);                                                               \
      case Isa::avx2:                                                                          \
        return NAME##_avx2(s);                                                                 \
      case Isa::baseline:                                                                      \
        break;                                                                                 \
    }                                                                                          \
    NAME##_baseline(s);                                                                        \
  }
#else
#define CHARNN_FUSED_KERNEL(NAME, STEP) \
  void NAME(const STEP& s) { NAME##_body(s); }
#endif

CHARNN_FUSED_KERNEL(rnn_forward, RnnForward)
CHARNN_FUSED_KERNEL(rnn_backward, RnnBackward)
CHARNN_FUSED_KERNEL(gru_forward, GruForward)
CHARNN_FUSED_KERNEL(gru_backward, GruBackward)
CHARNN_FUSED_KERNEL(lstm_forward, LstmForward)
CHARNN_FUSED_KERNEL(lstm_backward, LstmBackward)

}  // namespace charnn::fused::kernels
