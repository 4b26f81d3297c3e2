#include "bench/fast_generate.h"

#include "train/threads.h"

#include <dlfcn.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <vector>

namespace charnn::bench {
namespace {

// Fortran BLAS sgemv from the libblas.so.3 LibTorch already loaded (y = alpha*op(A)*x + beta*y).
using SgemvFn = void (*)(const char*, const int*, const int*, const float*, const float*, const int*,
                         const float*, const int*, const float*, float*, const int*);

SgemvFn sgemv() {
  static const auto fn = reinterpret_cast<SgemvFn>(dlsym(RTLD_DEFAULT, "sgemv_"));
  if (!fn) throw std::runtime_error("no sgemv_ in the loaded BLAS");
  return fn;
}

// y += W x, with W given as W^T row-major [cols, rows] = W column-major [rows, cols]: 'N'.
void matvec(const float* w_t, int rows, int cols, const float* x, float* y) {
  const float one = 1.0f;
  const int inc = 1;
  sgemv()("N", &rows, &cols, &one, w_t, &rows, x, &inc, &one, y, &inc);
}

}  // namespace

std::u32string fast_greedy_char_rnn(CharRnnImpl& model, const Vocab& vocab, int64_t window,
                                    std::u32string_view prompt, int64_t n) {
  torch::NoGradGuard no_grad;
  // A matrix-vector product this small loses more to waking a second thread than it gains.
  const auto threads = current_threads();
  set_threads({0, 1});
  auto p = model.rnn->named_parameters();
  const int nh = static_cast<int>(model.n_hidden);
  // Input projection of every character, both biases folded in: [vocab, H].
  const auto table = torch::addmm(p["bias_ih_l0"] + p["bias_hh_l0"], model.e->weight, p["weight_ih_l0"].t()).contiguous();
  const auto w_hh_t = p["weight_hh_l0"].t().contiguous();
  const auto w_out_t = model.l_out->weight.t().contiguous();
  const auto b_out = model.l_out->bias.contiguous();
  const int vocab_size = static_cast<int>(w_out_t.size(1));

  std::vector<int64_t> inp;
  for (char32_t c : prompt.substr(prompt.size() - static_cast<size_t>(window))) inp.push_back(vocab.index_of(c));
  std::vector<float> h(nh), pre(nh), logits(vocab_size);
  std::u32string res(prompt);
  for (int64_t i = 0; i < n; ++i) {
    std::fill(h.begin(), h.end(), 0.0f);
    for (int64_t c : inp) {
      const float* proj = table.data_ptr<float>() + c * nh;
      std::copy(proj, proj + nh, pre.begin());
      matvec(w_hh_t.data_ptr<float>(), nh, nh, h.data(), pre.data());
      std::transform(pre.begin(), pre.end(), h.begin(), [](float v) { return std::tanh(v); });
    }
    std::copy(b_out.data_ptr<float>(), b_out.data_ptr<float>() + vocab_size, logits.begin());
    matvec(w_out_t.data_ptr<float>(), vocab_size, nh, h.data(), logits.data());
    // log_softmax is monotonic: the argmax of the logits is the argmax of the log-probabilities.
    const int64_t next = std::max_element(logits.begin(), logits.end()) - logits.begin();
    res += vocab.char_at(next);
    inp.erase(inp.begin());
    inp.push_back(next);
  }
  set_threads({0, threads.blas});
  return res;
}

}  // namespace charnn::bench
