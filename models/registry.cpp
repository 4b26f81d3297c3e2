#include "models/registry.h"

#include <fmt/format.h>

#include <stdexcept>

#include "models/char3_model.h"
#include "models/char_loop_concat_model.h"
#include "models/char_loop_model.h"
#include "models/char_rnn.h"
#include "models/char_seq_rnn.h"

namespace charnn {
namespace {

template <typename Holder>
LessonModel wrap(const ModelConfig& config, Holder m) {
  if constexpr (std::is_same_v<Holder, CharRnn> || std::is_same_v<Holder, CharSeqRnn>) {
    if (config.identity_init) m->identity_init();
  }
  LessonModel out{config, m.ptr(), nullptr};
  if constexpr (std::is_same_v<Holder, Char3Model>) {
    out.forward = [m](const torch::Tensor& xs) mutable { return m->forward(xs[0], xs[1], xs[2]); };
  } else {
    out.forward = [m](const torch::Tensor& xs) mutable { return m->forward(xs); };
  }
  return out;
}

template <typename Holder>
std::function<LessonModel(const ModelConfig&)> factory() {
  return [](const ModelConfig& c) { return wrap(c, Holder(c.vocab_size, c.n_fac, c.n_hidden)); };
}

}  // namespace

const std::vector<ModelSpec>& model_registry() {
  static const std::vector<ModelSpec> registry = {
      {"char3-model", "Char3Model", Layout::ThreeChar, LossKind::Nll, false, factory<Char3Model>()},
      {"char-loop-model", "CharLoopModel", Layout::Overlapping, LossKind::Nll, false,
       factory<CharLoopModel>()},
      {"char-loop-concat-model", "CharLoopConcatModel", Layout::Overlapping, LossKind::Nll, false,
       factory<CharLoopConcatModel>()},
      {"char-rnn", "CharRnn", Layout::Overlapping, LossKind::Nll, true, factory<CharRnn>()},
      {"char-seq-rnn", "CharSeqRnn", Layout::Sequences, LossKind::NllSeq, true, factory<CharSeqRnn>()},
  };
  return registry;
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
    throw std::invalid_argument(
        fmt::format("identity init applies to char-rnn and char-seq-rnn, not {}", spec.name));
  }
  if (config.vocab_size < 1 || config.n_fac < 1 || config.n_hidden < 1) {
    throw std::invalid_argument(fmt::format("vocab_size, n_fac and n_hidden must be >= 1 (got {}, {}, {})",
                                            config.vocab_size, config.n_fac, config.n_hidden));
  }
  return spec.make(config);
}

}  // namespace charnn
