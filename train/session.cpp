#include "train/session.h"

#include <fmt/format.h>

#include <chrono>
#include <cstdlib>
#include <sstream>

#include "data/layouts.h"
#include "data/loader.h"
#include "data/split.h"
#include "train/atomic_file.h"
#include "train/checkpoint.h"
#include "train/observers.h"
#include "train/plot.h"

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

// Where the schedule stands: which fit call, and where inside it.
struct Position {
  int64_t fit_index = 0;
  int64_t steps_before = 0;  // optimizer steps of the finished fit calls
  FitState fit;
};

Corpus read_training_text(const RunConfig& config) {
  auto corpus = load_corpus(config.text);
  if (config.max_chars > 0 && config.max_chars < corpus.length()) {
    corpus.text.resize(static_cast<size_t>(config.max_chars));
    corpus.vocab = Vocab::from_text(corpus.text);
    corpus.idx = corpus.vocab.encode(corpus.text);
  }
  return corpus;
}

Run build_run(RunConfig config, const torch::Device& device) {
  const auto& spec = find_model(config.model.model);
  const int64_t window = config.window > 0 ? config.window : default_window(spec.layout);
  const auto corpus = read_training_text(config);
  if (!config.vocab.empty() && config.vocab != corpus.vocab.chars()) {
    throw InputError(fmt::format("{}: its vocabulary differs from the one the run was started with", config.text));
  }
  config.vocab = corpus.vocab.chars();
  config.model.vocab_size = corpus.vocab.size();
  const auto windows = make_windows(corpus, spec.layout, window);
  auto md = from_arrays(lesson_val_idxs(spec.layout, windows.rows(), window), windows, config.bs, config.seed);
  torch::manual_seed(config.seed);  // the initial weights follow the seed
  auto model = make_model(config.model);
  model.module->to(device);
  auto opt = std::make_unique<torch::optim::Adam>(model.module->parameters(),
                                                  torch::optim::AdamOptions(config.schedule.at(0).lr));
  return {std::move(config), &spec, window, std::move(md), std::move(model), std::move(opt)};
}

torch::Tensor scalar(int64_t v) { return torch::tensor({v}, torch::kInt64); }

void save_train_state(Run& run, const Position& pos, const fs::path& dir) {
  torch::serialize::OutputArchive archive, model_archive, opt_archive;
  run.model.module->save(model_archive);
  run.opt->save(opt_archive);
  archive.write("model", model_archive);
  archive.write("optimizer", opt_archive);
  archive.write("fit_index", scalar(pos.fit_index));
  archive.write("steps_before", scalar(pos.steps_before));
  archive.write("epoch", scalar(pos.fit.epoch));
  archive.write("batch", scalar(pos.fit.batch));
  archive.write("batches_seen", scalar(pos.fit.batches_seen));
  archive.write("avg_loss", torch::tensor({pos.fit.avg_loss}, torch::kFloat64));
  archive.write("has_order", scalar(pos.fit.order.defined() ? 1 : 0));
  archive.write("order", pos.fit.order.defined() ? pos.fit.order : torch::empty({0}, torch::kInt64));
  archive.write("generator", run.md.trn_dl.generator_state());
  std::vector<double> rows;
  for (const auto& r : pos.fit.rows) rows.insert(rows.end(), {static_cast<double>(r.epoch), r.trn_loss, r.val_loss});
  archive.write("rows", torch::tensor(rows, torch::kFloat64).view({-1, 3}));
  std::ostringstream bytes;
  archive.save_to(bytes);
  write_file_atomically(dir / kTrainStateFile, bytes.str());
  save_state_dict(*run.model.module, dir / kModelFile);
}

int64_t read_int(torch::serialize::InputArchive& a, const char* key) {
  torch::Tensor t;
  a.read(key, t);
  return t.item<int64_t>();
}

Position load_train_state(Run& run, const fs::path& dir) {
  const auto path = dir / kTrainStateFile;
  if (!fs::exists(path)) throw InputError(fmt::format("{}: missing; nothing to resume", path.string()));
  try {
    torch::serialize::InputArchive archive, model_archive, opt_archive;
    archive.load_from(path.string());
    archive.read("model", model_archive);
    archive.read("optimizer", opt_archive);
    run.model.module->load(model_archive);
    run.opt->load(opt_archive);
    Position pos;
    pos.fit_index = read_int(archive, "fit_index");
    pos.steps_before = read_int(archive, "steps_before");
    pos.fit.epoch = read_int(archive, "epoch");
    pos.fit.batch = read_int(archive, "batch");
    pos.fit.batches_seen = read_int(archive, "batches_seen");
    torch::Tensor t;
    archive.read("avg_loss", t);
    pos.fit.avg_loss = t.item<double>();
    if (read_int(archive, "has_order") != 0) archive.read("order", pos.fit.order);
    archive.read("generator", t);
    run.md.trn_dl.set_generator_state(t);
    archive.read("rows", t);
    for (int64_t i = 0; i < t.size(0); ++i) {
      pos.fit.rows.push_back({static_cast<int64_t>(t[i][0].item<double>()), t[i][1].item<double>(), t[i][2].item<double>()});
    }
    return pos;
  } catch (const c10::Error& e) {
    throw InputError(fmt::format("{}: unreadable or corrupt ({})", path.string(), e.what_without_backtrace()));
  }
}

// Saves a resumable checkpoint every `every` batches and at every epoch end.
class Checkpointer : public FitObserver {
 public:
  Checkpointer(Run& run, const Position& pos, fs::path dir, int64_t every)
      : run_(run), pos_(pos), dir_(std::move(dir)), every_(every) {}
  void on_batch_end(const BatchEvent& e) override {
    if (every_ > 0 && e.state.batches_seen % every_ == 0) save(e.state);
  }
  void on_epoch_end(const EpochRow& /*row*/, const FitState& state) override { save(state); }

 private:
  void save(const FitState& state) { save_train_state(run_, {pos_.fit_index, pos_.steps_before, state}, dir_); }
  Run& run_;
  const Position& pos_;
  fs::path dir_;
  int64_t every_;
};

class StopOnSignal : public FitObserver {
 public:
  explicit StopOnSignal(const std::atomic<int>* flag) : flag_(flag) {}
  bool stop_requested() override { return flag_ != nullptr && flag_->load() != 0; }

 private:
  const std::atomic<int>* flag_;
};

std::string fit_label(const Run& run, int64_t i) {
  const auto& call = run.config.schedule[static_cast<size_t>(i)];
  return fmt::format("{} fit {}/{} ({} epoch(s) at lr {})", run.spec->name, i + 1, run.config.schedule.size(),
                     call.epochs, call.lr);
}

SessionResult run_schedule(Run& run, Position pos, const SessionOptions& options) {
  SessionResult result;
  for (; pos.fit_index < static_cast<int64_t>(run.config.schedule.size()); ++pos.fit_index) {
    const auto call = run.config.schedule[static_cast<size_t>(pos.fit_index)];
    set_lrs(*run.opt, call.lr);
    ProgressObserver progress(fit_label(run, pos.fit_index), run.config.bs);
    MetricsWriter metrics(options.out, options.metrics_every, pos.fit_index, call.lr, pos.steps_before);
    Checkpointer checkpointer(run, pos, options.out, options.checkpoint_every);
    StopOnSignal stop(options.stop_signal);
    std::vector<FitObserver*> observers{&metrics, &checkpointer, &stop};
    if (options.progress) observers.insert(observers.begin(), &progress);
    const auto start = std::chrono::steady_clock::now();
    auto fitted = fit(run.model, run.md, call.epochs, *run.opt, run.spec->loss, observers, pos.fit, options.device);
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
  auto run = build_run(std::move(config), options.device);
  fs::create_directories(options.out);
  for (const char* stale : {MetricsWriter::kBatchesFile, MetricsWriter::kEpochsFile, kTrainStateFile}) {
    fs::remove(options.out / stale);
  }
  write_run_config(options.out, run.config);
  return run_schedule(run, Position{}, options);
}

SessionResult resume_run(const SessionOptions& options) {
  auto config = read_run_config(options.out);
  auto run = build_run(std::move(config), options.device);
  auto pos = load_train_state(run, options.out);
  return run_schedule(run, std::move(pos), options);
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
