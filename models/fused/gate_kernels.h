#pragma once
// The element-wise half of one time step of each cell, on the batch's rows in one pass: forward
// turns the gates' pre-activations into activations and the new state; backward turns the
// gradient of the step's output into the gates' gradients and the state's gradient. The matrix
// products around them stay ATen's (fused_common.h). Every pointer is a contiguous row-major
// [batch, width] block; blocks passed to one call do not overlap unless a comment says so.
#include <cstdint>

namespace charnn::fused::kernels {

// The instruction set the kernels run with: the baseline of the build (SSE2 on x86-64), AVX2 with
// FMA, or AVX-512 (16 floats a vector: the forward kernels' exp and divisions take half as long
// as with AVX2). Chosen once, the widest the CPU has; ATEN_CPU_CAPABILITY=default or avx2 caps
// it, as it does ATen's own kernels.
enum class Isa { baseline, avx2, avx512 };
Isa isa();
// For tests and the benchmark: false (and no change) when the CPU cannot run `choice`.
bool set_isa(Isa choice);
const char* to_string(Isa isa);

// tanh RNN. h holds the pre-activation on entry and tanh of it on return.
struct RnnForward {
  int64_t batch, hidden;
  float* h;
};
// dpre = (grad_out + dh) * (1 - h^2): grad_out is the loss's gradient of this step's output, dh
// what flows back from step t+1 (and from h_n at the last step).
struct RnnBackward {
  int64_t batch, hidden;
  const float* grad_out;
  const float* dh;
  const float* h;
  float* dpre;
};
void rnn_forward(const RnnForward& s);
void rnn_backward(const RnnBackward& s);

// GRU (nn::GRU's r, z, n). gates [B, 3H]: W_i x + b_i on entry, the activations r, z, n on
// return. hgates [B, 3H]: W_h h_prev + b_h, of which the n part is kept for backward.
struct GruForward {
  int64_t batch, hidden;
  float* gates;
  const float* hgates;
  const float* h_prev;
  float* h;
};
// Writes the pre-activation gradients of the input side (dgates: r, z, n) and of the hidden side
// (dhgates: r, z, and n times r), and dh_prev = (grad_out + dh) * z, the part of h_prev's
// gradient that does not go through W_h (the caller adds dhgates W_h to it).
struct GruBackward {
  int64_t batch, hidden;
  const float* grad_out;
  const float* dh;
  const float* gates;
  const float* hgates;
  const float* h_prev;
  float* dgates;
  float* dhgates;
  float* dh_prev;
};
void gru_forward(const GruForward& s);
void gru_backward(const GruBackward& s);

// LSTM (nn::LSTM's i, f, g, o). gates [B, 4H]: W_i x + b_i + W_h h_prev + b_h on entry, the
// activations on return; c = f c_prev + i g, tanh_c = tanh(c), h = o tanh_c.
struct LstmForward {
  int64_t batch, hidden;
  float* gates;
  const float* c_prev;
  float* c;
  float* tanh_c;
  float* h;
};
// dc holds c's gradient from step t+1 on entry (c_n's at the last step) and c_prev's on return.
struct LstmBackward {
  int64_t batch, hidden;
  const float* grad_out;
  const float* dh;
  const float* gates;
  const float* c_prev;
  const float* tanh_c;
  float* dc;
  float* dgates;
};
void lstm_forward(const LstmForward& s);
void lstm_backward(const LstmBackward& s);

}  // namespace charnn::fused::kernels
