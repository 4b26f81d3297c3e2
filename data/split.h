#pragma once
// fastai 0.7's get_cv_idxs and split_by_idx. The validation rows must be the lesson's rows,
// so the permutation is numpy's legacy RandomState stream, bit for bit.
#include <torch/torch.h>

#include <cstdint>
#include <random>
#include <vector>

#include "data/layouts.h"

namespace charnn {

// numpy's legacy RandomState (the stream behind np.random.*): MT19937 (std::mt19937 has the
// same init_genrand and stream), a downward Fisher-Yates, mask-and-reject bounded integers
// with one 32-bit draw per try, and the polar Gaussian with its one-value cache. fastai draws
// get_cv_idxs and LanguageModelLoader's sequence lengths from it.
class NumpyRandomState {
 public:
  // np.random.get_state()'s ('MT19937', key, pos, has_gauss, cached_gaussian): what a resumed
  // run needs to draw the rest of the stream.
  struct State {
    std::vector<uint32_t> key;  // 624 words
    int64_t pos = 0;            // the next word to temper; 624 = generate a new block first
    bool has_gauss = false;
    double gauss = 0.0;
  };

  explicit NumpyRandomState(uint32_t seed) : mt_(seed) {}
  // np.random.seed(s): also drops a cached Gaussian.
  void seed(uint32_t s);
  uint64_t interval(uint64_t max);  // uniform in [0, max]
  torch::Tensor permutation(int64_t n);
  // np.random.random(): 53 bits from two draws, in [0, 1).
  double random();
  // np.random.normal(loc, scale). The polar method makes two Gaussians at a time; the second
  // waits in the cache for the next call, whatever its loc and scale.
  double normal(double loc, double scale);
  State state() const;
  // Throws std::invalid_argument unless key has 624 words and pos is in [0, 624].
  void set_state(const State& state);

 private:
  std::mt19937 mt_;
  bool has_gauss_ = false;
  double gauss_ = 0.0;
};

// perm[cv_idx*n_val : (cv_idx+1)*n_val] with n_val = int(val_pct*n), in permutation order.
torch::Tensor get_cv_idxs(int64_t n, int64_t cv_idx = 0, double val_pct = 0.2, uint32_t seed = 42);

struct SplitIndices {
  torch::Tensor val;  // ascending row numbers
  torch::Tensor trn;  // ascending row numbers
};
// Negative indices count from the end (the lesson's Char3Model uses [-1]).
SplitIndices split_by_idx(const torch::Tensor& val_idxs, int64_t rows);

// The validation rows each notebook section used, quirks kept (docs/lesson-semantics.md §7):
// the three-char model validates on the single last row ([-1]); the 8-char section on
// get_cv_idxs(len(idx)-cs-1) (= all rows); the multi-output section on
// get_cv_idxs(len(xs)-cs-1), so its last cs+1 rows always train.
torch::Tensor lesson_val_idxs(Layout layout, int64_t rows, int64_t cs);

}  // namespace charnn
