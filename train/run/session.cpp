#include "train/run/session.h"

#include <fmt/format.h>

#include <chrono>
#include <nlohmann/json.hpp>

#include "common/console.h"
#include "common/file.h"
#include "common/test_hold.h"
#include "data/lesson_data.h"
#include "models/fused/fast_paths.h"
#include "models/model_size.h"
#include "train/families/family.h"
#include "train/io/atomic_file.h"
#include "train/io/checkpoint.h"
#include "train/io/metrics.h"
#include "train/io/plot.h"
#include "train/io/run_files.h"
#include "train/io/train_state.h"
#include "train/observers.h"

namespace charnn {
namespace {

namespace fs = std::filesystem;

// Everything one run holds while it trains: the notebook's md, m and opt.
struct Run {
  RunConfig config;
  const Family* family;
  std::unique_ptr<TrainingData> data;
  LessonModel model;
  std::unique_ptr<Optimizer> opt;
  bool fused = false;  // the model computes through the fused layers
};

// A resumed run must train on the text it started on, not just a file of the same name.
void check_same_text(const RunConfig& config, const Digest& file, const Digest& trained) {
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

// A saved position is checked against the training loader that config.json records, so a
// resumed run must cut the same one.
void record_trn_dl(RunConfig& config, const TrainingData& data) {
  const int64_t batches = data.batches_per_epoch(), rows = data.training_rows();
  if (config.trn_batches != 0 && (batches != config.trn_batches || rows != config.trn_rows)) {
    throw InputError(fmt::format("{}: gives a training loader of {} batches over {} rows; the run was started with "
                                 "{} batches over {} rows",
                                 config.text, batches, rows, config.trn_batches, config.trn_rows));
  }
  config.trn_batches = batches;
  config.trn_rows = rows;
}

int64_t window_of(const RunConfig& config) {
  return config.window > 0 ? config.window : default_window(find_model(config.model.model).layout);
}

// Where a run's sizes came from, for the error line when they cannot fit: the flags of a fresh
// run, or the config.json a resumed run reads.
std::string size_source(const RunConfig& c, const std::optional<fs::path>& config_file) {
  if (!config_file) {
    return fmt::format("--n-fac {}, --n-hidden {}, --window {}, --bs {}", c.model.n_fac, c.model.n_hidden,
                       window_of(c), c.bs);
  }
  return fmt::format("{} (vocab_size {}, n_fac {}, n_hidden {}, nl {}, window {}, bs {})", config_file->string(),
                     c.model.vocab_size, c.model.n_fac, c.model.n_hidden, c.model.nl, window_of(c), c.bs);
}

// LayerOptimizer(optim.Adam, m, lr, wd): one parameter group, the run's optimizer (Adam unless
// config.json says otherwise), the first call's rate.
std::unique_ptr<Optimizer> layer_optimizer(LessonModel& model, const RunConfig& config) {
  return find_optimizer(config.optimizer).make(model.module->parameters(), config.schedule.at(0).lr, config.wd);
}

// The notebook's cells up to the first fit: the text, the family's data (md), the model (m,
// whose initial weights follow the seed) and the optimizer.
Run build_run(RunConfig config, const SessionOptions& options, const std::optional<fs::path>& config_file) {
  const auto& device = options.device;
  const auto& family = family_of(find_model(config.model.model));
  // Before the text is read, with the smallest vocabulary it could have; again below with its own.
  auto smallest = config.model;
  smallest.vocab_size = config_file ? config.model.vocab_size : 1;
  check_model_fits(smallest, window_of(config), config.bs, size_source(config, config_file));
  const auto text = load_training_text(config.text, config.max_chars);
  const auto file_digest = digest_file(config.text, "a UTF-8 text file");
  const auto trained_digest = digest_of(encode_utf8(text.text));
  if (config_file) check_same_text(config, file_digest, trained_digest);
  config.text_digest = file_digest;
  config.trained_digest = trained_digest;
  auto data = family.prepare(text, config, device, options.shard ? *options.shard : local_shard());
  record_trn_dl(config, *data);
  check_model_fits(config.model, window_of(config), config.bs, size_source(config, config_file));
  torch::manual_seed(config.seed);  // the initial weights (and the LSTM's dropout masks) follow the seed
  auto model = make_model(config.model);
  model.module->to(device);
  const bool fused = !options.plain && fused::use_fused_layers(model);
  auto opt = layer_optimizer(model, config);
  return {std::move(config), &family, std::move(data), std::move(model), std::move(opt), fused};
}

// Whether the model has a recurrent layer with dropout between its layers (the LSTM's).
bool drops_out(const torch::nn::Module& module) {
  for (const auto& m : module.modules()) {
    if (const auto* lstm = dynamic_cast<const torch::nn::LSTMImpl*>(m.get())) {
      if (lstm->options.dropout() > 0 && lstm->options.num_layers() > 1) return true;
    }
  }
  return false;
}

// nn::LSTM draws its dropout masks for the columns it is given, so a rank with PyTorch's layers
// would drop out other units than the single process; the fused layers draw the whole batch's.
void check_parallel_layers(const Run& run, const SessionOptions& options) {
  if (!options.shard || options.shard->world() == 1 || run.fused || !drops_out(*run.model.module)) return;
  throw InputError(fmt::format("{} over {} processes with PyTorch's layers (--plain, or a device the fused layers "
                               "do not run on): nn::LSTM would draw its dropout masks for each rank's columns, not "
                               "the single process's; the fused layers on the CPU draw the whole batch's",
                               run.config.model.model, options.shard->world()));
}

// What must be the same on every rank of a run: everything config.json records but where the
// text lies (each host has its own copy; its bytes are compared), and the layers.
std::string settings_of(const RunConfig& config, const SessionOptions& options) {
  auto j = nlohmann::json::parse(to_json(config));
  j.erase("text");
  j.erase("text_digest");
  j["layers"] = options.plain ? "plain" : "fused";
  return j.dump();
}

// A rank started with other settings would train another run in lock step: refused at once,
// each rank saying what it knows.
void check_same_settings(Shard& shard, const RunConfig& config, const SessionOptions& options) {
  const auto mine = settings_of(config, options);
  const auto rank0 = shard.broadcast(mine);
  const bool differs = mine != rank0;
  if (!shard.any(differs)) return;
  if (!differs) {
    throw InputError(fmt::format("rank {} of {}: another rank was started with other settings (see its error)",
                                 shard.rank(), shard.world()));
  }
  const auto a = nlohmann::json::parse(mine), b = nlohmann::json::parse(rank0);
  for (const auto& [key, value] : b.items()) {
    if (!a.contains(key) || a.at(key) != value) {
      throw InputError(fmt::format("rank {} of {}: its {} is {}, rank 0's is {}; every rank must be started alike",
                                   shard.rank(), shard.world(), key, a.contains(key) ? a.at(key).dump() : "missing",
                                   value.dump()));
    }
  }
  throw InputError(fmt::format("rank {} of {}: its settings differ from rank 0's", shard.rank(), shard.world()));
}

RunShape shape_of(const RunConfig& config) {
  RunShape shape{{}, config.trn_batches, config.trn_rows,
                 family_of(find_model(config.model.model)).epochs_end_early()};
  for (const auto& call : config.schedule) shape.epochs_per_fit.push_back(call.epochs);
  return shape;
}

void save_train_state(Run& run, const TrainPosition& pos, const fs::path& dir) {
  save_checkpoint(dir, *run.model.module, run.config.optimizer, *run.opt, pos, run.data->state(run.model));
}

// The family's errors name the entry; the user also needs the file.
template <typename F>
void naming_train_state(const fs::path& dir, F&& body) {
  try {
    body();
  } catch (const InputError& e) {
    throw InputError(fmt::format("{}: {}", (dir / kTrainStateFile).string(), e.what()));
  }
}

TrainPosition load_train_state(Run& run, const fs::path& dir) {
  const auto loaded = load_checkpoint(dir, *run.model.module, run.config.optimizer, *run.opt, shape_of(run.config));
  naming_train_state(dir, [&] { run.data->restore(loaded.data, loaded.position.fit, run.model); });
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
    const TrainPosition at{pos_.fit_index, pos_.steps_before, state, pos_.lrs};
    save_train_state(run_, at, dir_);
    last_saved_step_ = at.step();
  }
  Run& run_;
  const TrainPosition& pos_;
  fs::path dir_;
  int64_t every_;
  int64_t& last_saved_step_;
};

// The notebook's on_cycle_end: save_model(m, f'{PATH}models/cyc_{cycle}').
class CycleSaver : public FitObserver {
 public:
  CycleSaver(const torch::nn::Module& model, fs::path dir) : model_(model), dir_(std::move(dir)) {}
  void on_cycle_end(int64_t cycle) override { save_state_dict(model_, dir_ / fmt::format("cyc_{}.pt", cycle)); }

 private:
  const torch::nn::Module& model_;
  fs::path dir_;
};

// CHARNN_TEST_HOLD=step:N (common/test_hold.h): the run's N-th step, once every other observer
// has seen it, so its metrics row and checkpoint are on disk.
class TestHold : public FitObserver {
 public:
  explicit TestHold(const TrainPosition& pos) : pos_(pos) {}
  void on_batch_end(const BatchEvent& e) override { test_hold("step", pos_.steps_before + e.state.batches_seen); }

 private:
  const TrainPosition& pos_;
};

std::string fit_label(const RunConfig& config, int64_t i, double lr) {
  const auto& call = config.schedule[static_cast<size_t>(i)];
  if (call.kind == FitCall::Kind::CosAnneal) {
    return fmt::format("{} fit {}/{} ({} epoch(s), CosAnneal from lr {}, cycle_mult {})", config.model.model, i + 1,
                       config.schedule.size(), call.epochs, lr, call.cycle_mult);
  }
  return fmt::format("{} fit {}/{} ({} epoch(s) at lr {})", config.model.model, i + 1, config.schedule.size(),
                     call.epochs, lr);
}

LearningRate learning_rate(const FitCall& call, double lr, int64_t batches_per_epoch) {
  if (call.kind == FitCall::Kind::CosAnneal) return LearningRate::cos_anneal(lr, batches_per_epoch, call.cycle_mult);
  return LearningRate::constant(lr);
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

// The notebook's fit cells one after another, each at its rate, from wherever pos stands.
SessionResult run_schedule(Run& run, TrainPosition pos, const SessionOptions& options, int64_t last_saved_step = -1) {
  SessionResult result;
  for (; pos.fit_index < static_cast<int64_t>(run.config.schedule.size()); ++pos.fit_index) {
    const auto call = run.config.schedule[static_cast<size_t>(pos.fit_index)];
    const double start_lr = call.lr_from_previous ? pos.lrs : call.lr;
    auto lr = learning_rate(call, start_lr, run.data->batches_per_epoch());
    ProgressObserver progress(fit_label(run.config, pos.fit_index, start_lr), run.config.bs);
    EpochRowPrinter rows;
    MetricsWriter metrics(options.out, options.metrics_every, pos.fit_index, start_lr, pos.steps_before);
    Checkpointer checkpointer(run, pos, options.out, options.checkpoint_every, last_saved_step);
    CycleSaver cycles(*run.model.module, options.out);
    StopOnFlag stop(options.stop_signal);
    TestHold hold(pos);
    std::vector<FitObserver*> observers{&metrics, &checkpointer, &hold, &stop, &cycles};
    if (!options.quiet) observers.insert(observers.begin(), &rows);
    if (options.progress && !options.quiet) observers.insert(observers.begin(), &progress);
    observers.insert(observers.end(), options.observers.begin(), options.observers.end());
    const auto start = std::chrono::steady_clock::now();
    FitResult fitted;
    try {
      const InFit in_fit(options.in_fit);
      fitted = fit(run.model, *run.data, call.epochs, *run.opt, lr, observers, pos.fit);
    } catch (const NonFiniteLoss& e) {
      rethrow_non_finite(e, pos.fit_index, last_saved_step, options.out);
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (!fitted.completed) {
      save_train_state(run, {pos.fit_index, pos.steps_before, fitted.state, pos.lrs}, options.out);
      result.completed = false;
      result.stopped_fit = pos.fit_index;
      result.stopped_epoch = fitted.state.epoch;
      result.stopped_batch = fitted.state.batch;
      return result;
    }
    result.fits.push_back({call, fitted.state.rows, seconds});
    pos.steps_before += fitted.state.batches_seen;
    pos.fit = {};
    pos.lrs = lr.last();  // lo.lrs: what a later 'prev' call starts from
    save_train_state(run, {pos.fit_index + 1, pos.steps_before, pos.fit, pos.lrs}, options.out);
    last_saved_step = pos.steps_before;
  }
  result.plotted = plot_losses(options.out);
  return result;
}

}  // namespace

SessionResult train_run(RunConfig config, const SessionOptions& options) {
  check_schedule(config.schedule, "--fit");
  config.world_size = options.shard ? options.shard->world() : 1;
  config.backend = options.shard ? "gloo" : "none";
  find_optimizer(config.optimizer);
  config.vocab.clear();
  auto run = build_run(std::move(config), options, std::nullopt);
  check_parallel_layers(run, options);
  if (options.shard) check_same_settings(*options.shard, run.config, options);
  fs::create_directories(options.out);
  // Everything of an earlier run goes, model.pt included: a new config.json beside an old
  // model.pt would load (or fail to) as if they belonged together.
  remove_run_files(options.out);
  write_run_config(options.out, run.config);
  return run_schedule(run, TrainPosition{}, options);
}

SessionResult resume_run(const SessionOptions& options) {
  auto config = read_run_config(options.out);
  auto run = build_run(std::move(config), options, options.out / kConfigFile);
  check_parallel_layers(run, options);
  if (options.shard) check_same_settings(*options.shard, run.config, options);
  auto pos = load_train_state(run, options.out);
  if (pos.fit_index == static_cast<int64_t>(run.config.schedule.size())) {
    SessionResult finished;
    finished.already_finished = true;
    return finished;
  }
  drop_metrics_after_position(run, pos, options.out);
  remove_stale_temp_files(options.out);
  if (!options.quiet) {
    note(fmt::format("charnn: resuming {} at fit call {}, epoch {}, batch {} (step {})\n", options.out.string(),
                     pos.fit_index + 1, pos.fit.epoch, pos.fit.batch, pos.step()));
    const int64_t world = options.shard ? options.shard->world() : 1;
    if (world != run.config.world_size) {
      // A checkpoint holds the whole batch's state, whatever the processes that saved it.
      note(fmt::format("charnn: the run started on {} process(es) and continues on {}: the same batches and "
                       "updates, their sums taken in another order\n",
                       run.config.world_size, world));
    }
  }
  const int64_t step = pos.step();
  return run_schedule(run, std::move(pos), options, step);
}

ResumePoint read_resume_point(const fs::path& dir) {
  // Everything is loaded and checked as --resume would, into scratch copies of the model, the
  // optimizer and the family's state, without the text.
  const auto config = read_run_config(dir);
  check_model_fits(config.model, window_of(config), config.bs, size_source(config, dir / kConfigFile));
  auto model = make_model(config.model);
  auto opt = layer_optimizer(model, config);
  const auto shape = shape_of(config);
  const auto loaded = load_checkpoint(dir, *model.module, config.optimizer, *opt, shape);
  naming_train_state(dir, [&] {
    family_of(find_model(config.model.model)).check_state(loaded.data, loaded.position.fit, shape, model);
  });
  const auto& pos = loaded.position;
  return {pos.fit_index, pos.fit.epoch, pos.fit.batch, pos.step()};
}

LoadedModel load_run_model(const fs::path& dir) {
  auto config = read_run_config(dir);
  // Sampling runs one row at a time.
  check_model_fits(config.model, window_of(config), 1, size_source(config, dir / kConfigFile));
  auto model = make_model(config.model);
  load_state_dict(*model.module, dir / kModelFile);
  return {std::move(config), std::move(model)};
}

}  // namespace charnn
