#include "train/families/windows.h"

#include <fmt/format.h>

#include "data/lesson_data.h"
#include "train/sharded_step.h"

namespace charnn {
namespace {

class WindowedData : public TrainingData {
 public:
  WindowedData(ModelData md, LossKind loss, int shards, const torch::Device& device, Shard& ranks)
      : md_(std::move(md)), loss_(loss), device_(device), step_(device.is_cpu() ? shards : 1, ranks) {}

  int64_t batches_per_epoch() const override { return md_.trn_dl.num_batches(); }
  int64_t training_rows() const override { return md_.trn_dl.num_rows(); }

  void start_epoch() override {
    if (!order_.defined()) order_ = md_.trn_dl.epoch_order();
  }
  std::optional<Batch> next_batch() override {
    if (next_ >= md_.trn_dl.num_batches()) return std::nullopt;
    return md_.trn_dl.batch(order_, next_++);
  }
  void end_epoch() override {
    order_ = torch::Tensor();
    next_ = 0;
  }
  bool agree_to_stop(bool asked) override { return step_.ranks().any(asked); }

  double loss_and_grads(LessonModel& model, const Batch& batch) override {
    return step_.loss_and_grads(model, loss_, batch, device_);
  }
  double validate(LessonModel& model) override {
    model.module->eval();
    auto& dl = md_.val_dl;
    const auto order = dl.epoch_order();
    double total = 0.0;
    for (int64_t i = 0; i < dl.num_batches(); ++i) total += step_.loss(model, loss_, dl.batch(order, i), device_);
    return dl.num_batches() == 0 ? 0.0 : total / static_cast<double>(dl.num_batches());
  }

  DataState state(const LessonModel& /*model*/) const override {
    auto s = data_state();
    s.insert("order", order_.defined() ? c10::IValue(order_) : c10::IValue());
    s.insert("generator", md_.trn_dl.generator_state());
    return s;
  }
  void restore(const DataState& state, const FitState& at, LessonModel& model) override;

 private:
  ModelData md_;
  LossKind loss_;
  torch::Device device_;
  ShardedStep step_;
  torch::Tensor order_;  // the epoch's row permutation; undefined between epochs
  int64_t next_ = 0;
};

// The epoch's order: none between epochs, else a permutation of the run's training rows.
torch::Tensor checked_order(const DataState& state, const FitState& at, int64_t rows) {
  const auto& value = state_entry(state, "order");
  if (value.isNone()) {
    if (at.batch > 0) throw InputError("'data.order' is missing: a mid-epoch position needs the epoch's batch order");
    return {};
  }
  const auto order = value.isTensor() ? value.toTensor() : torch::Tensor();
  if (!order.defined() || order.scalar_type() != torch::kInt64 || order.dim() != 1 || order.numel() != rows ||
      (rows > 0 && (order.min().item<int64_t>() < 0 || order.max().item<int64_t>() >= rows))) {
    throw InputError(fmt::format("'data.order' is not a permutation of the run's {} training rows", rows));
  }
  return order;
}

torch::Tensor checked_generator(const DataState& state) {
  const auto& value = state_entry(state, "generator");
  if (!value.isTensor()) throw InputError(fmt::format("'data.generator' must be a tensor, found {}", value.tagKind()));
  auto probe = at::detail::createCPUGenerator();
  try {
    probe.set_state(value.toTensor());
  } catch (const std::exception& e) {
    throw InputError(fmt::format("'data.generator': the random state does not load ({})", e.what()));
  }
  return value.toTensor();
}

void WindowedData::restore(const DataState& state, const FitState& at, LessonModel& /*model*/) {
  auto order = checked_order(state, at, training_rows());
  md_.trn_dl.set_generator_state(checked_generator(state));
  order_ = std::move(order);
  next_ = at.batch;
}

// A few windows can split into no training rows (training on nothing "succeeds" with a loss
// of 0) or no validation rows (a validation loss of 0 that means nothing): say so instead.
void check_split(const Corpus& corpus, const ModelSpec& spec, int64_t window, const ModelData& md) {
  const int64_t trn = md.trn_dl.num_rows(), val = md.val_dl.num_rows();
  if (trn > 0 && val > 0) return;
  throw InputError(fmt::format("{}: text of {} characters gives {} window(s) of {} for {}, {} to train on and {} "
                               "to validate on; it needs at least one of each (use a longer text)",
                               corpus.name, corpus.length(), trn + val, window, spec.name, trn, val));
}

class WindowedFamily : public Family {
 public:
  std::string_view name() const override { return "windowed"; }

  std::unique_ptr<TrainingData> prepare(const Corpus& text, RunConfig& config, const torch::Device& device,
                                        Shard& shard) const override {
    const auto& spec = find_model(config.model.model);
    const auto tokens = text.vocab.tokens();
    if (!config.vocab.empty() && config.vocab != tokens) {
      throw InputError(fmt::format("{}: its vocabulary differs from the one the run was started with", config.text));
    }
    config.vocab = tokens;
    config.model.vocab_size = text.vocab.size();
    // 0 asks for one shard per core, resolved now so that a resumed run cuts batches alike.
    if (config.shards <= 0) config.shards = device.is_cpu() ? resolve_shards(0) : 1;
    const int64_t window = config.window > 0 ? config.window : default_window(spec.layout);
    auto md = lesson_data(text, spec.layout, window, config.bs, config.seed);
    check_split(text, spec, window, md);
    return windowed_training(std::move(md), spec.loss, static_cast<int>(config.shards), device, shard);
  }

  bool epochs_end_early() const override { return false; }

  void check_state(const DataState& state, const FitState& at, const RunShape& shape,
                   LessonModel& /*model*/) const override {
    checked_order(state, at, shape.training_rows);
    checked_generator(state);
  }

  void generate(LessonModel& model, const RunConfig& config, std::string_view vocab_name,
                std::u32string_view prompt, const SampleOptions& options,
                const std::function<void(std::string_view)>& emit) const override {
    const auto vocab = Vocab::from_tokens(config.vocab, vocab_name);
    const auto& spec = find_model(config.model.model);
    const int64_t window = config.window > 0 ? config.window : default_window(spec.layout);
    charnn::generate(model, vocab, window, prompt, options, [&emit](char32_t c) { emit(encode_utf8(c)); });
  }
};

}  // namespace

std::unique_ptr<TrainingData> windowed_training(ModelData md, LossKind loss, int shards, const torch::Device& device,
                                                Shard& ranks) {
  return std::make_unique<WindowedData>(std::move(md), loss, shards, device, ranks);
}

std::shared_ptr<const Family> windowed_family() { return std::make_shared<WindowedFamily>(); }

}  // namespace charnn
