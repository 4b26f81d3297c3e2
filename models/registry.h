#pragma once
// Selects a lesson model by name. Each entry states the data layout and loss the model
// needs, so the trainer and the CLI never switch on model types.
#include <torch/torch.h>

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "data/layouts.h"

namespace charnn {

enum class LossKind {
  Nll,     // F.nll_loss on [B, vocab] against y [B]
  NllSeq,  // the notebook's nll_loss_seq on [seq, B, vocab] against y [B, seq]
};

struct ModelConfig {
  std::string model = "char-rnn";  // a registry name
  int64_t vocab_size = 85;
  int64_t n_fac = 42;
  int64_t n_hidden = 256;
  bool identity_init = false;
};

// A constructed model behind one calling convention: forward(xs) with xs = [cs, B].
struct LessonModel {
  ModelConfig config;
  std::shared_ptr<torch::nn::Module> module;
  std::function<torch::Tensor(const torch::Tensor&)> forward;
};

struct ModelSpec {
  std::string_view name;            // kebab-case of the class, the CLI's --model
  std::string_view notebook_class;  // as the notebook names it
  Layout layout;
  LossKind loss;
  bool has_identity_init;
  std::function<LessonModel(const ModelConfig&)> make;
};

const std::vector<ModelSpec>& model_registry();
// Throws std::invalid_argument naming the unknown model and listing the known ones.
const ModelSpec& find_model(std::string_view name);
LessonModel make_model(const ModelConfig& config);

}  // namespace charnn
