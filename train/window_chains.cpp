#include "train/window_chains.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "models/char3_model.h"
#include "models/char_loop_concat_model.h"
#include "models/char_loop_model.h"
#include "models/char_rnn.h"
#include "models/char_seq_rnn.h"
#include "train/row_kernels.h"

namespace charnn {
namespace {

torch::Tensor cpu(const torch::Tensor& t) { return t.detach().to(torch::kCPU, torch::kFloat).contiguous(); }

template <typename Impl>
Impl* as(LessonModel& model) {
  return dynamic_cast<Impl*>(model.module.get());
}

}  // namespace

WindowChains::WindowChains(LessonModel& model, int64_t window) : window_(window) {
  if (window < 1) throw std::invalid_argument(fmt::format("WindowChains: window must be >= 1, got {}", window));
  torch::NoGradGuard no_grad;
  torch::nn::Linear l_out{nullptr};
  auto rnn = [&](auto& m) {
    // nn.RNN's input term with both biases, for every character of the vocabulary.
    auto p = m.rnn->named_parameters();
    cell_ = Cell::Rnn;
    char_term_ = cpu(torch::addmm(p["bias_ih_l0"] + p["bias_hh_l0"], m.e->weight, p["weight_ih_l0"].t()));
    w_h_t_ = cpu(p["weight_hh_l0"].t());
    l_out = m.l_out;
  };
  auto added_input = [&](auto& m) {
    cell_ = Cell::AddedInput;
    char_term_ = cpu(torch::relu(m.l_in(m.e->weight)));
    w_h_t_ = cpu(m.l_hidden->weight.t());
    b_ = cpu(m.l_hidden->bias);
    l_out = m.l_out;
  };
  if (auto* m = as<CharRnnImpl>(model)) {
    rnn(*m);
  } else if (auto* m = as<CharSeqRnnImpl>(model)) {
    rnn(*m);
  } else if (auto* m = as<CharLoopModelImpl>(model)) {
    added_input(*m);
  } else if (auto* m = as<Char3ModelImpl>(model)) {
    added_input(*m);
  } else if (auto* m = as<CharLoopConcatModelImpl>(model)) {
    // l_in's weight splits into the columns that multiply h (cat puts h first) and those
    // that multiply e(c); the latter, with l_in's bias, are computed once per character.
    cell_ = Cell::ConcatInput;
    const auto nh = m->n_hidden;
    const auto w_in = m->l_in->weight;
    char_term_ = cpu(torch::addmm(m->l_in->bias, m->e->weight, w_in.narrow(1, nh, w_in.size(1) - nh).t()));
    w_h_t_ = cpu(w_in.narrow(1, 0, nh).t());
    w_t_ = cpu(m->l_hidden->weight.t());
    b_ = cpu(m->l_hidden->bias);
    l_out = m->l_out;
  } else {
    throw std::invalid_argument(fmt::format("WindowChains: no step for model {}", model.config.model));
  }
  w_out_t_ = cpu(l_out->weight.t());
  b_out_ = cpu(l_out->bias);
  n_hidden_ = w_out_t_.size(0);
  vocab_ = w_out_t_.size(1);
  h_ = torch::zeros({window, n_hidden_});
  pre_ = torch::empty_like(h_);
  mid_ = torch::empty_like(h_);
}

void WindowChains::step(int64_t rows, int64_t c) {
  const int64_t nh = n_hidden_;
  const float* h = h_.data_ptr<float>();
  const float* term = char_term_.data_ptr<float>() + c * nh;
  float* pre = pre_.data_ptr<float>();
  switch (cell_) {
    case Cell::Rnn:
      rows_affine(h, nullptr, rows, nh, w_h_t_.data_ptr<float>(), nh, term, pre);
      break;
    case Cell::AddedInput:
      rows_affine(h, term, rows, nh, w_h_t_.data_ptr<float>(), nh, b_.data_ptr<float>(), pre);
      break;
    case Cell::ConcatInput: {
      float* mid = mid_.data_ptr<float>();
      rows_affine(h, nullptr, rows, nh, w_h_t_.data_ptr<float>(), nh, term, mid);
      std::transform(mid, mid + rows * nh, mid, [](float v) { return std::max(v, 0.0f); });
      rows_affine(mid, nullptr, rows, nh, w_t_.data_ptr<float>(), nh, b_.data_ptr<float>(), pre);
      break;
    }
  }
  // LibTorch's tanh, the kernel the model's forward uses.
  if (rows == window_) {
    at::tanh_out(h_, pre_);
  } else {
    auto out = h_.narrow(0, 0, rows);
    at::tanh_out(out, pre_.narrow(0, 0, rows));
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
  auto log_probs = torch::empty({vocab_});
  float* out = log_probs.data_ptr<float>();
  rows_affine(row, nullptr, 1, n_hidden_, w_out_t_.data_ptr<float>(), vocab_, b_out_.data_ptr<float>(), out);
  const float max = *std::max_element(out, out + vocab_);
  double sum = 0.0;
  for (int64_t i = 0; i < vocab_; ++i) sum += std::exp(static_cast<double>(out[i] - max));
  const auto log_sum = static_cast<float>(std::log(sum));
  for (int64_t i = 0; i < vocab_; ++i) out[i] = out[i] - max - log_sum;
  std::fill(row, row + n_hidden_, 0.0f);
  oldest_ = (oldest_ + 1) % window_;
  return log_probs;
}

}  // namespace charnn
