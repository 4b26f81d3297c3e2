#pragma once
// How much memory a model takes to train, estimated from the model's own parameter shapes, so
// that a size no machine could hold (a typo in --n-hidden, a hand-edited config.json) ends in
// one error line naming where it came from, before anything large is allocated. Every registered
// model is covered without a formula of its own.
#include <cstdint>
#include <string>

#include "models/registry.h"

namespace charnn {

// The model's parameter count at config's sizes. The lesson's models (and any built from
// embeddings, linear layers and recurrent layers) have a count that is a polynomial of degree
// at most 2 in each of vocab_size, n_fac and n_hidden; it is measured on tiny instances (sizes
// 1 to 3, batch 1) and extended exactly. Building them does not move torch's random stream.
double parameter_count(const ModelConfig& config);

// Throws InputError, prefixed by `source` (the flags, or config.json and its fields), when the
// parameters with their gradients and Adam's two moments, the carried state and one batch's
// activations (bs rows of `window` steps) would take more than half of physical memory.
void check_model_fits(const ModelConfig& config, int64_t window, int64_t bs, const std::string& source);

}  // namespace charnn
