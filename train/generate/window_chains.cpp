#include "train/generate/window_chains.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "train/generate/row_kernels.h"

namespace charnn {
namespace {

torch::Tensor cpu(const torch::Tensor& t) {
  return t.defined() ? t.detach().to(torch::kCPU, torch::kFloat).contiguous() : t;
}

}  // namespace

WindowChains::WindowChains(const WindowRecurrence& recurrence, int64_t window) : window_(window) {
  if (window < 1) throw std::invalid_argument(fmt::format("WindowChains: window must be >= 1, got {}", window));
  torch::NoGradGuard no_grad;
  char_term_ = cpu(recurrence.char_term);
  w_out_t_ = cpu(recurrence.out_weight.t());
  b_out_ = cpu(recurrence.out_bias);
  vocab_ = char_term_.size(0);
  n_hidden_ = char_term_.size(1);
  for (const auto& l : recurrence.layers) {
    const bool folded = l.char_term == RecurrenceLayer::CharTerm::AfterProduct;
    if (!l.weight.sizes().equals({n_hidden_, n_hidden_}) || (!folded && !l.bias.defined())) {
      throw std::invalid_argument("WindowChains: a recurrence layer is not [n_hidden, n_hidden] with a bias");
    }
    layers_.push_back({cpu(l.weight.t()), folded ? torch::Tensor() : cpu(l.bias), l.char_term, l.activation});
  }
  if (layers_.empty() || !w_out_t_.sizes().equals({n_hidden_, vocab_})) {
    throw std::invalid_argument("WindowChains: the recurrence has no layer, or its output layer does not fit");
  }
  h_ = torch::zeros({window, n_hidden_});
  log_probs_ = torch::empty({vocab_});
  for (size_t i = 0; i + 1 < layers_.size(); ++i) scratch_.push_back(torch::empty_like(h_));
  scratch_.push_back(torch::empty_like(h_));  // the last layer's value before its activation
}

void WindowChains::step(int64_t rows, int64_t c) {
  const int64_t nh = n_hidden_;
  const float* term = char_term_.data_ptr<float>() + c * nh;
  const float* in = h_.data_ptr<float>();
  for (size_t i = 0; i < layers_.size(); ++i) {
    const auto& l = layers_[i];
    float* out = scratch_[i].data_ptr<float>();
    const float* add = l.char_term == RecurrenceLayer::CharTerm::BeforeProduct ? term : nullptr;
    const float* bias = l.char_term == RecurrenceLayer::CharTerm::AfterProduct ? term : l.bias.data_ptr<float>();
    rows_affine(in, add, rows, nh, l.w_t.data_ptr<float>(), nh, bias, out);
    const bool last = i + 1 == layers_.size();
    auto value = scratch_[i].narrow(0, 0, rows);
    auto target = last ? h_.narrow(0, 0, rows) : value;
    // LibTorch's own kernels, the ones the model's forward uses.
    if (l.activation == RecurrenceLayer::Activation::Tanh) {
      at::tanh_out(target, value);
    } else {
      at::clamp_min_out(target, value, 0);
    }
    in = out;
  }
}

torch::Tensor WindowChains::start(const std::vector<int64_t>& window_chars) {
  if (static_cast<int64_t>(window_chars.size()) != window_) {
    throw std::invalid_argument(
        fmt::format("WindowChains: {} characters for a window of {}", window_chars.size(), window_));
  }
  torch::NoGradGuard no_grad;
  h_.zero_();
  // Chain j starts at character j: rows beyond it stay zero until their first character.
  for (int64_t j = 0; j < window_; ++j) step(j + 1, window_chars[static_cast<size_t>(j)]);
  oldest_ = 0;
  return finish_oldest();
}

torch::Tensor WindowChains::push(int64_t c) {
  torch::NoGradGuard no_grad;
  step(window_, c);
  return finish_oldest();
}

// The oldest chain has read a whole window: it predicts (l_out, then log_softmax), and its
// row starts the next chain.
torch::Tensor WindowChains::finish_oldest() {
  float* row = h_.data_ptr<float>() + oldest_ * n_hidden_;
  float* out = log_probs_.data_ptr<float>();
  rows_affine(row, nullptr, 1, n_hidden_, w_out_t_.data_ptr<float>(), vocab_, b_out_.data_ptr<float>(), out);
  const float max = *std::max_element(out, out + vocab_);
  double sum = 0.0;
  for (int64_t i = 0; i < vocab_; ++i) sum += std::exp(static_cast<double>(out[i] - max));
  const auto log_sum = static_cast<float>(std::log(sum));
  for (int64_t i = 0; i < vocab_; ++i) out[i] = out[i] - max - log_sum;
  std::fill(row, row + n_hidden_, 0.0f);
  oldest_ = (oldest_ + 1) % window_;
  return log_probs_;
}

}  // namespace charnn
