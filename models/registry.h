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
#include "models/stateful.h"
#include "models/window_recurrence.h"

namespace charnn {

enum class LossKind {
  Nll,     // F.nll_loss on [B, vocab] against y [B]; the stateful models' [sl*bs, vocab] against the flat targets
  NllSeq,  // the notebook's nll_loss_seq on [seq, B, vocab] against y [B, seq]
};

// A bound on the LSTM's layers, far above the lesson's 2: a hand-edited count beyond it is a typo.
constexpr int64_t kMaxLayers = 64;

struct ModelConfig {
  std::string model = "char-rnn";  // a registry name
  int64_t vocab_size = 85;
  int64_t n_fac = 42;
  int64_t n_hidden = 256;
  bool identity_init = false;
  // The stateful models' constructor arguments: the batch their first hidden state is made for
  // (the notebook passes bs=512, then trains at 64: the state restarts at the first batch), and
  // the LSTM's layers and the dropout between them.
  int64_t bs = 512;
  int64_t nl = 2;  // at most kMaxLayers
  double dropout = 0.5;
};

// A constructed model behind one calling convention: forward(xs) with xs = [cs, B].
struct LessonModel {
  ModelConfig config;
  std::shared_ptr<torch::nn::Module> module;
  std::function<torch::Tensor(const torch::Tensor&)> forward;
  // Empty for a model without one; generation then runs forward on every window.
  std::function<WindowRecurrence()> window_recurrence;
  // The same module seen through the StatefulModel interface (models/stateful.h); empty for a
  // model that starts every batch from zeros.
  std::shared_ptr<StatefulModel> stateful;
};

struct ModelSpec {
  std::string_view name;            // kebab-case of the class, the CLI's --model
  std::string_view notebook_class;  // as the notebook names it
  Layout layout;
  LossKind loss;
  bool has_identity_init;
  std::function<LessonModel(const ModelConfig&)> make;
  int64_t lesson_n_hidden = 256;  // the notebook's n_hidden for this class
  // How it trains (train/families/family.h): "windowed" for the windows of the first half,
  // "language-model" for the second half's LanguageModelData; set from the layout.
  std::string_view family;
  int64_t lesson_bs = 512;  // the notebook's batch size for this class: 512, or 64 for the stateful models
  bool is_stateful() const { return layout == Layout::LanguageModel; }
};

const std::vector<ModelSpec>& model_registry();
// Adds a model (after the lesson's), e.g. one of your own: see model_entry below. Throws
// std::invalid_argument when the name is taken.
void register_model(ModelSpec spec);
// Removes a registered model (a test's, when it is done with it); nothing when there is none.
void unregister_model(std::string_view name);
// Throws std::invalid_argument naming the unknown model and listing the known ones.
const ModelSpec& find_model(std::string_view name);
LessonModel make_model(const ModelConfig& config);

// The registry entry of a model class Holder (a TORCH_MODULE holder) constructed as
// Holder(vocab_size, n_fac, n_hidden). What the class offers is found from its methods, so it
// is stated once: identity_init() makes it accept identity init, window_recurrence() gives fast
// generation, and a forward of three index tensors takes the three-char layout's columns. A
// StatefulModel is constructed as Holder(vocab_size, n_fac, bs, n_hidden), or, when it takes
// layers, Holder(vocab_size, n_fac, bs, nl, n_hidden, dropout), and needs Layout::LanguageModel.
template <typename Holder>
ModelSpec model_entry(std::string_view name, std::string_view notebook_class, Layout layout, LossKind loss,
                      int64_t lesson_n_hidden = 256);

}  // namespace charnn

#include "models/registry_entry.h"
