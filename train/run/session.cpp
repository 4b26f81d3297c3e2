#include "train/run/session.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <chrono>
#include <cmath>
#include <cstdlib>

#include "common/console.h"
#include "common/file.h"
#include "data/layouts.h"
#include "data/loader.h"
#include "data/split.h"
#include "train/io/atomic_file.h"
#include "train/io/checkpoint.h"
#include "train/io/metrics.h"
#include "train/io/plot.h"
#include "train/io/train_state.h"
#include "train/observers.h"
#include "train/sharded_step.h"
#include "data/lesson_data.h"

namespace charnn {
namespace {

namespace fs = std::filesystem;

// Everything one run holds while it trains.
struct Run {
  RunConfig config;
  const ModelSpec* spec;
  int64_t window;
  ModelData md;
  LessonModel model;
  std::unique_ptr<torch::optim::Adam> opt;
};

// A UTF-8 prefix cut at a byte count may end inside a character: drop that partial one.
std::string_view whole_characters(std::string_view bytes) {
  size_t end = bytes.size(), back = 0;
  while (back < 4 && end > back && (static_cast<unsigned char>(bytes[end - 1 - back]) & 0xC0) == 0x80) ++back;
  if (end > back) {
    const auto lead = static_cast<unsigned char>(bytes[end - 1 - back]);
    const size_t len = lead < 0x80 ? 1 : lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
    if (len > back + 1) end -= back + 1;
  }
  return bytes.substr(0, end);
}

// With --max-chars only a bounded prefix is read (a character is at most 4 bytes), so a huge
// file costs no more memory than the part trained on.
Corpus read_training_text(const RunConfig& config) {
  const char* what = "a UTF-8 text file";
  if (config.max_chars <= 0) return load_corpus(config.text);
  const auto limit = static_cast<uint64_t>(config.max_chars) * 4;
  const auto bytes = read_file_prefix(config.text, what, limit);
  const auto whole = bytes.size() == limit ? whole_characters(bytes) : std::string_view(bytes);
  return truncate_corpus(corpus_from_utf8(whole, config.text), config.max_chars);
}

// A resumed run must train on the text it started on, not just a file of the same name.
void check_same_text(const RunConfig& config, const Digest& file, const Digest& trained) {
  if (config.trained_digest.bytes == 0) return;  // a run saved before digests were kept
  if (trained != config.trained_digest) {
    throw InputError(fmt::format("{}: the text differs from the one the run was trained on ({} bytes trained on, "
                                 "FNV-1a {:016x}; the run was started on {} bytes, FNV-1a {:016x})",
                                 config.text, trained.bytes, trained.fnv1a, config.trained_digest.bytes,
                                 config.trained_digest.fnv1a));
  }
  if (file != config.text_digest) {
    throw InputError(fmt::format("{}: the file changed since the run started ({} bytes, FNV-1a {:016x}; it was {} "
                                 "bytes, FNV-1a {:016x}), though the part trained on is the same",
                                 config.text, file.bytes, file.fnv1a, config.text_digest.bytes,
                                 config.text_digest.fnv1a));
  }
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

Run build_run(RunConfig config, const torch::Device& device) {
  const auto& spec = find_model(config.model.model);
  if (spec.is_stateful()) {
    throw InputError(fmt::format("--model {}: the stateful models are registered, but training them (the "
                                 "language-model data, the state carried across batches) is not part of "
                                 "`charnn train` yet",
                                 spec.name));
  }
  const int64_t window = config.window > 0 ? config.window : default_window(spec.layout);
  const auto corpus = read_training_text(config);
  const auto file_digest = digest_file(config.text, "a UTF-8 text file");
  const auto trained_digest = digest_of(encode_utf8(corpus.text));
  check_same_text(config, file_digest, trained_digest);
  config.text_digest = file_digest;
  config.trained_digest = trained_digest;
  if (!config.vocab.empty() && config.vocab != corpus.vocab.chars()) {
    throw InputError(fmt::format("{}: its vocabulary differs from the one the run was started with", config.text));
  }
  config.vocab = corpus.vocab.chars();
  config.model.vocab_size = corpus.vocab.size();
  auto md = lesson_data(corpus, spec.layout, window, config.bs, config.seed);
  check_split(corpus, spec, window, md);
  torch::manual_seed(config.seed);  // the initial weights follow the seed
  auto model = make_model(config.model);
  model.module->to(device);
  auto opt = std::make_unique<torch::optim::Adam>(model.module->parameters(),
                                                  torch::optim::AdamOptions(config.schedule.at(0).lr));
  return {std::move(config), &spec, window, std::move(md), std::move(model), std::move(opt)};
}

void save_train_state(Run& run, const TrainPosition& pos, const fs::path& dir) {
  save_checkpoint(dir, *run.model.module, *run.opt, pos, run.md.trn_dl.generator_state());
}

RunShape shape_of(const Run& run) {
  RunShape shape{{}, run.md.trn_dl.num_batches(), run.md.trn_dl.num_rows()};
  for (const auto& call : run.config.schedule) shape.epochs_per_fit.push_back(call.epochs);
  return shape;
}

TrainPosition load_train_state(Run& run, const fs::path& dir) {
  auto loaded = load_checkpoint(dir, *run.model.module, *run.opt, shape_of(run));
  run.md.trn_dl.set_generator_state(loaded.generator_state);
  return loaded.position;
}

// epochs.csv holds one row per finished epoch; batches.csv one per logged step.
void drop_metrics_after_position(const Run& run, const TrainPosition& pos, const fs::path& dir) {
  int64_t epoch_rows = static_cast<int64_t>(pos.fit.rows.size());
  for (int64_t i = 0; i < pos.fit_index; ++i) epoch_rows += run.config.schedule[static_cast<size_t>(i)].epochs;
  drop_metrics_after(dir, pos.step(), epoch_rows);
}

// Saves a resumable checkpoint every `every` batches and at every epoch end, and remembers
// the step of the last one, which a failing run reports as the one it keeps.
class Checkpointer : public FitObserver {
 public:
  Checkpointer(Run& run, const TrainPosition& pos, fs::path dir, int64_t every, int64_t& last_saved_step)
      : run_(run), pos_(pos), dir_(std::move(dir)), every_(every), last_saved_step_(last_saved_step) {}
  void on_batch_end(const BatchEvent& e) override {
    if (every_ > 0 && e.state.batches_seen % every_ == 0) save(e.state);
  }
  void on_epoch_end(const EpochRow& /*row*/, const FitState& state) override { save(state); }

 private:
  void save(const FitState& state) {
    const TrainPosition at{pos_.fit_index, pos_.steps_before, state};
    save_train_state(run_, at, dir_);
    last_saved_step_ = at.step();
  }
  Run& run_;
  const TrainPosition& pos_;
  fs::path dir_;
  int64_t every_;
  int64_t& last_saved_step_;
};

std::string fit_label(const Run& run, int64_t i) {
  const auto& call = run.config.schedule[static_cast<size_t>(i)];
  return fmt::format("{} fit {}/{} ({} epoch(s) at lr {})", run.spec->name, i + 1, run.config.schedule.size(),
                     call.epochs, call.lr);
}

// fit() names the epoch and batch; the user also needs the fit call and what is left on disk.
[[noreturn]] void rethrow_non_finite(const NonFiniteLoss& e, int64_t fit_index, int64_t last_saved_step,
                                     const fs::path& dir) {
  const auto kept = last_saved_step < 0
                        ? std::string("no checkpoint was saved yet")
                        : fmt::format("the last checkpoint (step {} of the run) is kept in {}", last_saved_step,
                                      dir.string());
  throw NonFiniteLoss(fmt::format("fit call {}: {}; {}", fit_index + 1, e.what(), kept));
}

// Marks the time a fit call runs, when a signal means "stop at the next batch boundary".
struct InFit {
  explicit InFit(std::atomic<bool>* flag) : flag_(flag) {
    if (flag_) flag_->store(true);
  }
  ~InFit() {
    if (flag_) flag_->store(false);
  }
  InFit(const InFit&) = delete;
  InFit& operator=(const InFit&) = delete;
  std::atomic<bool>* flag_;
};

SessionResult run_schedule(Run& run, TrainPosition pos, const SessionOptions& options,
                           int64_t last_saved_step = -1) {
  SessionResult result;
  for (; pos.fit_index < static_cast<int64_t>(run.config.schedule.size()); ++pos.fit_index) {
    const auto call = run.config.schedule[static_cast<size_t>(pos.fit_index)];
    set_lrs(*run.opt, call.lr);
    ProgressObserver progress(fit_label(run, pos.fit_index), run.config.bs);
    EpochRowPrinter rows;
    MetricsWriter metrics(options.out, options.metrics_every, pos.fit_index, call.lr, pos.steps_before);
    Checkpointer checkpointer(run, pos, options.out, options.checkpoint_every, last_saved_step);
    StopOnFlag stop(options.stop_signal);
    std::vector<FitObserver*> observers{&rows, &metrics, &checkpointer, &stop};
    if (options.progress) observers.insert(observers.begin(), &progress);
    const auto start = std::chrono::steady_clock::now();
    FitResult fitted;
    try {
      const InFit in_fit(options.in_fit);
      fitted = fit(run.model, run.md, call.epochs, *run.opt, run.spec->loss, observers, pos.fit, options.device,
                   static_cast<int>(run.config.shards));
    } catch (const NonFiniteLoss& e) {
      rethrow_non_finite(e, pos.fit_index, last_saved_step, options.out);
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (!fitted.completed) {
      save_train_state(run, {pos.fit_index, pos.steps_before, fitted.state}, options.out);
      result.completed = false;
      result.stopped_fit = pos.fit_index;
      result.stopped_epoch = fitted.state.epoch;
      result.stopped_batch = fitted.state.batch;
      return result;
    }
    result.fits.push_back({call, fitted.rows, seconds});
    pos.steps_before += fitted.state.batches_seen;
    pos.fit = {};
    save_train_state(run, {pos.fit_index + 1, pos.steps_before, pos.fit}, options.out);
    last_saved_step = pos.steps_before;
  }
  plot_losses(options.out);
  return result;
}

void check_schedule(const RunConfig& config) {
  if (config.schedule.empty()) throw InputError("--fit: give at least one fit call, e.g. --fit 4@1e-3");
  for (const auto& f : config.schedule) {
    if (f.epochs < 1) throw InputError(fmt::format("--fit: epochs must be >= 1, got {}", f.epochs));
    if (!(f.lr > 0)) throw InputError(fmt::format("--fit: learning rate must be > 0, got {}", f.lr));
  }
  if (config.bs < 1) throw InputError(fmt::format("--bs: batch size must be >= 1, got {}", config.bs));
}

}  // namespace

SessionResult train_run(RunConfig config, const SessionOptions& options) {
  check_schedule(config);
  config.vocab.clear();
  config.shards = options.device.is_cpu() ? resolve_shards(static_cast<int>(config.shards)) : 1;
  auto run = build_run(std::move(config), options.device);
  fs::create_directories(options.out);
  // Everything of an earlier run goes, model.pt included: a new config.json beside an old
  // model.pt would load (or fail to) as if they belonged together.
  for (const char* stale :
       {MetricsWriter::kBatchesFile, MetricsWriter::kEpochsFile, kTrainStateFile, kModelFile, "loss.png"}) {
    fs::remove(options.out / stale);
  }
  write_run_config(options.out, run.config);
  return run_schedule(run, TrainPosition{}, options);
}

SessionResult resume_run(const SessionOptions& options) {
  auto config = read_run_config(options.out);
  auto run = build_run(std::move(config), options.device);
  auto pos = load_train_state(run, options.out);
  drop_metrics_after_position(run, pos, options.out);
  remove_stale_temp_files(options.out);
  note(fmt::format("charnn: resuming {} at fit call {}, epoch {}, batch {} (step {})\n", options.out.string(),
                   pos.fit_index + 1, pos.fit.epoch, pos.fit.batch, pos.step()));
  const int64_t step = pos.step();
  return run_schedule(run, std::move(pos), options, step);
}

ResumePoint read_resume_point(const fs::path& dir) {
  auto run = build_run(read_run_config(dir), torch::kCPU);
  const auto pos = load_train_state(run, dir);
  return {pos.fit_index, pos.fit.epoch, pos.fit.batch, pos.step()};
}

LoadedModel load_run_model(const fs::path& dir) {
  auto config = read_run_config(dir);
  const auto& spec = find_model(config.model.model);
  auto model = make_model(config.model);
  load_state_dict(*model.module, dir / kModelFile);
  auto vocab = Vocab::from_chars(config.vocab);
  const int64_t window = config.window > 0 ? config.window : default_window(spec.layout);
  return {std::move(config), std::move(vocab), std::move(model), window};
}

}  // namespace charnn
