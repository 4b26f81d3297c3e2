#include "train/families/language_model.h"

#include <fmt/format.h>

#include <ATen/CPUGeneratorImpl.h>

#include <mutex>

#include "models/fused/fused_common.h"
#include "train/generate/stateful_generate.h"

namespace charnn {
namespace {

int64_t integer(const c10::IValue& v, const char* key) {
  if (!v.isInt()) throw InputError(fmt::format("'{}' must be an integer, found {}", key, v.tagKind()));
  return v.toInt();
}

// np.random.get_state(): key, pos, has_gauss, gauss.
NumpyRandomState::State numpy_state_of(const DataState& state) {
  const auto& value = state_entry(state, "numpy");
  if (!value.isGenericDict()) throw InputError("'data.numpy' must be a dict");
  const auto numpy = value.toGenericDict();
  auto field = [&numpy](const char* key) {
    const auto it = numpy.find(key);
    if (it == numpy.end()) throw InputError(fmt::format("'data.numpy.{}' is missing", key));
    return it->value();
  };
  NumpyRandomState::State out;
  const auto key_value = field("key");
  if (!key_value.isTensor()) throw InputError("'data.numpy.key' must be a tensor");
  const auto key = key_value.toTensor().to(torch::kInt64).contiguous();
  const auto* k = key.data_ptr<int64_t>();
  for (int64_t i = 0; i < key.numel(); ++i) {
    if (k[i] < 0 || k[i] > UINT32_MAX) throw InputError("'data.numpy.key' holds a value outside 32 bits");
    out.key.push_back(static_cast<uint32_t>(k[i]));
  }
  out.pos = integer(field("pos"), "data.numpy.pos");
  const auto has_gauss = field("has_gauss"), gauss = field("gauss");
  if (!has_gauss.isBool() || !(gauss.isDouble() || gauss.isInt())) {
    throw InputError("'data.numpy.has_gauss' must be a bool and 'data.numpy.gauss' a number");
  }
  out.has_gauss = has_gauss.toBool();
  out.gauss = gauss.isDouble() ? gauss.toDouble() : static_cast<double>(gauss.toInt());
  if (out.key.size() != 624 || out.pos < 0 || out.pos > 624) {
    throw InputError(fmt::format("'data.numpy' has {} key words and position {}, numpy's MT19937 has 624 and a "
                                 "position in [0, 624]",
                                 out.key.size(), out.pos));
  }
  return out;
}

DataState numpy_dict(const NumpyRandomState::State& s) {
  auto numpy = data_state();
  numpy.insert("key", torch::tensor(std::vector<int64_t>(s.key.begin(), s.key.end()), torch::kInt64));
  numpy.insert("pos", s.pos);
  numpy.insert("has_gauss", s.has_gauss);
  numpy.insert("gauss", s.gauss);
  return numpy;
}

std::vector<torch::Tensor> hidden_of(const DataState& state) {
  const auto& value = state_entry(state, "hidden");
  std::vector<torch::Tensor> out;
  if (!value.isList()) throw InputError("'data.hidden' must be a list of tensors");
  for (const auto& item : value.toListRef()) {
    if (!item.isTensor()) throw InputError("'data.hidden' must be a list of tensors");
    out.push_back(item.toTensor());
  }
  return out;
}

// The row the epoch's next batch starts at: 0 exactly when no batch has been drawn.
int64_t row_of(const DataState& state, const FitState& at, int64_t rows) {
  const int64_t row = integer(state_entry(state, "row"), "data.row");
  if (row < 0 || row > rows || (at.batch == 0) != (row == 0)) {
    throw InputError(fmt::format("'data.row' is {} at batch {} of an epoch over {} rows", row, at.batch, rows));
  }
  return row;
}

// torch's global CPU generator: the one the LSTM's dropout masks are drawn from.
void set_global_generator(const DataState& state) {
  const auto& value = state_entry(state, "generator");
  if (!value.isTensor()) throw InputError(fmt::format("'data.generator' must be a tensor, found {}", value.tagKind()));
  auto generator = at::detail::getDefaultCPUGenerator();
  try {
    const std::lock_guard<std::mutex> lock(generator.mutex());
    generator.set_state(value.toTensor());
  } catch (const std::exception& e) {
    throw InputError(fmt::format("'data.generator': the random state does not load ({})", e.what()));
  }
}

// The checkpoint's state is the whole batch's; a rank keeps its columns of it.
template <typename Columns>
void set_hidden(const DataState& state, LessonModel& model, const Columns& columns) {
  std::vector<torch::Tensor> hidden;
  const auto device = model.module->parameters().at(0).device();
  const auto dim = model.stateful->state_batch_dim();
  for (const auto& h : hidden_of(state)) {
    const bool whole = columns.all() || h.dim() <= dim || h.size(dim) != columns.total;
    hidden.push_back((whole ? h : h.narrow(dim, columns.begin, columns.count)).to(device));
  }
  try {
    model.stateful->set_state(hidden);
  } catch (const InputError& e) {
    throw InputError(fmt::format("'data.hidden': {}", e.what()));
  }
}

// The batch's columns this rank computes: all of them in one process.
struct Columns {
  int64_t begin, count, total;
  bool all() const { return count == total; }
  torch::Tensor x(const torch::Tensor& xs) const { return all() ? xs : xs.narrow(1, begin, count); }
  // y is time-major (sl*bs,), as the model's output rows.
  torch::Tensor y(const torch::Tensor& ys) const {
    return all() ? ys : ys.view({-1, total}).narrow(1, begin, count).reshape({-1});
  }
};

class LanguageModelTraining : public TrainingData {
 public:
  LanguageModelTraining(LanguageModelData md, const torch::Device& device, Shard& shard)
      : md_(std::move(md)), device_(device), shard_(shard) {
    const auto total = md_.trn_dl.data().size(1);
    const auto part = shard.part(total);
    columns_ = {part.begin, part.count, total};
  }

  int64_t batches_per_epoch() const override { return md_.trn_dl.size(); }
  int64_t training_rows() const override { return md_.trn_dl.data().size(0); }

  // __iter__ starts each epoch at row 0; a restored position continues where it stood.
  void start_epoch() override {
    if (!resumed_) md_.trn_dl.set_position({0, 0});
    resumed_ = false;
  }
  std::optional<Batch> next_batch() override {
    auto batch = md_.trn_dl.next();
    if (!batch) return std::nullopt;
    return Batch{std::move(batch->x), std::move(batch->y)};
  }
  void end_epoch() override { md_.trn_dl.set_position({0, 0}); }
  bool agree_to_stop(bool asked) override { return shard_.any(asked); }

  double loss_and_grads(LessonModel& model, const Batch& batch) override {
    if (shard_.world() == 1) return notebook_step(model, batch);
    return step_of_columns(model, batch);
  }
  // In eval mode (no dropout), without autograd; the state carries on from training, and the
  // lengths come from the same numpy stream.
  double validate(LessonModel& model) override {
    model.module->eval();
    torch::NoGradGuard no_grad;
    double total = 0.0;
    int64_t batches = 0;
    for (const auto& [x, y] : md_.val_dl) {
      const auto out = model.forward(columns_.x(x).to(device_));
      total += shard_.world() == 1 ? torch::nll_loss(out, y.to(device_)).item<double>()
                                   : summed_over_ranks(part_of_mean(out, {x, y}).item<double>());
      ++batches;
    }
    return batches == 0 ? 0.0 : total / static_cast<double>(batches);
  }

  DataState state(const LessonModel& model) const override {
    auto s = data_state();
    s.insert("row", md_.trn_dl.position().i);
    s.insert("numpy", numpy_dict(md_.np_random->state()));
    c10::List<at::Tensor> hidden;
    const auto dim = model.stateful->state_batch_dim();
    for (const auto& h : model.stateful->state()) hidden.push_back(shard_.gather(h.detach(), dim).cpu());
    s.insert("hidden", hidden);
    s.insert("generator", at::detail::getDefaultCPUGenerator().get_state());
    return s;
  }

  void restore(const DataState& state, const FitState& at, LessonModel& model) override {
    const int64_t row = row_of(state, at, training_rows());
    const auto numpy = numpy_state_of(state);
    set_hidden(state, model, columns_);
    set_global_generator(state);
    try {
      md_.np_random->set_state(numpy);
    } catch (const std::exception& e) {
      throw InputError(fmt::format("'data.numpy': the numpy state does not load ({})", e.what()));
    }
    md_.trn_dl.set_position({row, at.batch});
    resumed_ = true;
  }

 private:
  // Stepper.step: forward (from the carried state), zero_grad, F.nll_loss, backward.
  double notebook_step(LessonModel& model, const Batch& batch) {
    const auto out = model.forward(batch.xs.to(device_));
    model.module->zero_grad();
    const auto loss = torch::nll_loss(out, batch.y.to(device_));
    loss.backward();
    return loss.item<double>();
  }

  // This rank's columns: the sum of their losses over the whole batch's count, so that each
  // output's gradient is the single process's 1/(sl*bs) and the sum over the ranks is the whole
  // batch's loss and gradient. The dropout between the LSTM's layers draws the whole batch's mask
  // and keeps these columns.
  double step_of_columns(LessonModel& model, const Batch& batch) {
    const auto params = model.module->parameters();
    torch::Tensor loss;
    {
      const fused::DropoutColumns window(columns_.begin, columns_.total);
      loss = part_of_mean(model.forward(columns_.x(batch.xs).to(device_)), batch);
    }
    auto grads = torch::autograd::grad({loss}, params, {}, false, false, true);
    for (size_t p = 0; p < params.size(); ++p) {
      if (!grads[p].defined()) grads[p] = torch::zeros_like(params[p]);
    }
    grads.push_back(loss.detach().to(torch::kFloat64).cpu());
    shard_.sum(grads);
    for (size_t p = 0; p < params.size(); ++p) params[p].mutable_grad() = grads[p];
    return grads.back().item<double>();
  }

  // F.nll_loss's mean over the whole batch, this rank's columns' part of it.
  torch::Tensor part_of_mean(const torch::Tensor& out, const Batch& batch) const {
    const auto y = columns_.y(batch.y).to(device_);
    const auto count = static_cast<double>(batch.y.numel());
    return torch::nll_loss(out, y, {}, at::Reduction::Sum) / count;
  }

  double summed_over_ranks(double mine) {
    if (shard_.world() == 1) return mine;
    std::vector<torch::Tensor> t{torch::tensor(mine, torch::kFloat64)};
    shard_.sum(t);
    return t[0].item<double>();
  }

  LanguageModelData md_;
  torch::Device device_;
  Shard& shard_;
  Columns columns_;
  bool resumed_ = false;
};

class LanguageModelFamily : public Family {
 public:
  std::string_view name() const override { return "language-model"; }

  // LanguageModelData.from_text_files at bs 64, bptt 8 (the run's window), min_freq 3, the
  // lengths drawn from a numpy stream seeded with the run's seed.
  std::unique_ptr<TrainingData> prepare(const Corpus& text, RunConfig& config, const torch::Device& device,
                                        Shard& shard) const override {
    if (config.seed > UINT32_MAX) {
      throw InputError(fmt::format("--seed {}: the stateful models seed numpy's stream, which takes seeds below "
                                   "2^32",
                                   config.seed));
    }
    // The state runs through all bs columns of a batch: the step is the plain one.
    if (config.shards > 1) {
      throw InputError(fmt::format("--shards {}: the stateful models train with the plain step (--shards 1)",
                                   config.shards));
    }
    config.shards = 1;
    const auto& spec = find_model(config.model.model);
    const int64_t bptt = config.window > 0 ? config.window : default_window(spec.layout);
    config.trn_lines = training_lines(text.text, config.trn_lines, text.name);
    auto md = from_text_files(split_lines(text.text, config.trn_lines, text.name),
                              std::make_shared<NumpyRandomState>(static_cast<uint32_t>(config.seed)), config.bs, bptt);
    if (!config.vocab.empty() && config.vocab != md.field.vocab.itos()) {
      throw InputError(fmt::format("{}: its vocabulary differs from the one the run was started with", config.text));
    }
    config.vocab = md.field.vocab.itos();
    config.model.vocab_size = md.nt;
    return language_model_training(std::move(md), device, shard);
  }

  bool epochs_end_early() const override { return true; }
  bool splits_text_by_lines() const override { return true; }
  bool samples_by_default() const override { return true; }

  // Everything restore() would load, into scratch copies of numpy's stream and of the model's
  // state; torch's generator state is only tried on a scratch generator.
  void check_state(const DataState& state, const FitState& at, const RunShape& shape,
                   LessonModel& model) const override {
    row_of(state, at, shape.training_rows);
    NumpyRandomState(0).set_state(numpy_state_of(state));
    struct All {
      bool all() const { return true; }
      int64_t begin = 0, count = 0, total = 0;
    };
    set_hidden(state, model, All{});
    const auto& value = state_entry(state, "generator");
    if (!value.isTensor()) throw InputError("'data.generator' must be a tensor");
    try {
      at::detail::createCPUGenerator().set_state(value.toTensor());
    } catch (const std::exception& e) {
      throw InputError(fmt::format("'data.generator': the random state does not load ({})", e.what()));
    }
  }

  // The notebook's test cells: the prompt lower-cased and numericalised by the run's torchtext
  // vocabulary, the state carried from window to window.
  void generate(LessonModel& model, const RunConfig& config, std::string_view vocab_name,
                std::u32string_view prompt, const SampleOptions& options,
                const std::function<void(std::string_view)>& emit) const override {
    torchtext::Field TEXT(/*lower=*/true);
    TEXT.vocab = torchtext::Vocab::from_itos(config.vocab, vocab_name);
    charnn::generate(model, TEXT, prompt, options, [&emit](const std::string& token) { emit(token); });
  }
};

}  // namespace

std::unique_ptr<TrainingData> language_model_training(LanguageModelData md, const torch::Device& device,
                                                      Shard& shard) {
  return std::make_unique<LanguageModelTraining>(std::move(md), device, shard);
}

std::shared_ptr<const Family> language_model_family() { return std::make_shared<LanguageModelFamily>(); }

}  // namespace charnn
