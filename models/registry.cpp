#include "models/registry.h"

#include <algorithm>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <stdexcept>

#include "models/char3_model.h"
#include "models/char_loop_concat_model.h"
#include "models/char_loop_model.h"
#include "models/char_rnn.h"
#include "models/char_seq_rnn.h"
#include "models/char_seq_stateful_gru.h"
#include "models/char_seq_stateful_lstm.h"
#include "models/char_seq_stateful_rnn.h"
#include "models/char_seq_stateful_rnn2.h"

namespace charnn {
namespace {

std::vector<ModelSpec>& registry() {
  static std::vector<ModelSpec> models = {
      model_entry<Char3Model>("char3-model", "Char3Model", Layout::ThreeChar, LossKind::Nll),
      model_entry<CharLoopModel>("char-loop-model", "CharLoopModel", Layout::Overlapping, LossKind::Nll),
      model_entry<CharLoopConcatModel>("char-loop-concat-model", "CharLoopConcatModel", Layout::Overlapping,
                                       LossKind::Nll),
      model_entry<CharRnn>("char-rnn", "CharRnn", Layout::Overlapping, LossKind::Nll),
      model_entry<CharSeqRnn>("char-seq-rnn", "CharSeqRnn", Layout::Sequences, LossKind::NllSeq),
      model_entry<CharSeqStatefulRnn>("char-seq-stateful-rnn", "CharSeqStatefulRnn", Layout::LanguageModel,
                                      LossKind::Nll),
      model_entry<CharSeqStatefulRnn2>("char-seq-stateful-rnn2", "CharSeqStatefulRnn2", Layout::LanguageModel,
                                       LossKind::Nll),
      model_entry<CharSeqStatefulGRU>("char-seq-stateful-gru", "CharSeqStatefulGRU", Layout::LanguageModel,
                                      LossKind::Nll),
      // "we're going to increase the hidden size to 512"
      model_entry<CharSeqStatefulLSTM>("char-seq-stateful-lstm", "CharSeqStatefulLSTM", Layout::LanguageModel,
                                       LossKind::Nll, 512),
  };
  return models;
}

}  // namespace

const std::vector<ModelSpec>& model_registry() { return registry(); }

void register_model(ModelSpec spec) {
  for (const auto& known : registry()) {
    if (known.name == spec.name) throw std::invalid_argument(fmt::format("model '{}' is already registered", spec.name));
  }
  registry().push_back(std::move(spec));
}

void unregister_model(std::string_view name) {
  auto& specs = registry();
  specs.erase(std::remove_if(specs.begin(), specs.end(), [&](const ModelSpec& s) { return s.name == name; }),
              specs.end());
}

const ModelSpec& find_model(std::string_view name) {
  std::string known;
  for (const auto& spec : model_registry()) {
    if (spec.name == name) return spec;
    known += known.empty() ? "" : ", ";
    known += spec.name;
  }
  throw std::invalid_argument(fmt::format("unknown model '{}' (known: {})", name, known));
}

LessonModel make_model(const ModelConfig& config) {
  const auto& spec = find_model(config.model);
  if (config.identity_init && !spec.has_identity_init) {
    std::vector<std::string_view> with;
    for (const auto& s : model_registry()) {
      if (s.has_identity_init) with.push_back(s.name);
    }
    throw std::invalid_argument(
        fmt::format("identity init applies to {}, not {}", fmt::join(with, " and "), spec.name));
  }
  if (config.vocab_size < 1 || config.n_fac < 1 || config.n_hidden < 1) {
    throw std::invalid_argument(fmt::format("vocab_size, n_fac and n_hidden must be >= 1 (got {}, {}, {})",
                                            config.vocab_size, config.n_fac, config.n_hidden));
  }
  if (spec.is_stateful() && (config.bs < 1 || config.nl < 1 || !(config.dropout >= 0 && config.dropout < 1))) {
    throw std::invalid_argument(fmt::format("bs and nl must be >= 1 and dropout in [0, 1) (got {}, {}, {})",
                                            config.bs, config.nl, config.dropout));
  }
  return spec.make(config);
}

}  // namespace charnn
