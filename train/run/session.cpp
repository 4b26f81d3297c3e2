#include "train/run/session.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <chrono>
#include <cmath>
#include <cstdlib>

#include "common/console.h"
#include "common/file.h"
#include "common/test_hold.h"
#include "models/model_size.h"
#include "data/layouts.h"
#include "data/loader.h"
#include "data/split.h"
#include "train/adam.h"
#include "train/io/atomic_file.h"
#include "train/io/checkpoint.h"
#include "train/io/metrics.h"
#include "train/io/plot.h"
#include "train/io/run_files.h"
#include "train/io/train_state.h"
#include "train/observers.h"
#include "train/sharded_step.h"
#include "data/lesson_data.h"
#include "data/language_model_data.h"
#include "train/cos_anneal.h"
#include "train/lm_fit.h"
#include <ATen/CPUGeneratorImpl.h>

namespace charnn {
namespace {

namespace fs = std::filesystem;

// Everything one run holds while it trains.
struct Run {
  RunConfig config;
  const ModelSpec* spec;
  int64_t window;            // the stateful models' bptt
  std::optional<ModelData> md;          // the windowed models' loaders
  std::optional<LanguageModelData> lm;  // the stateful models' LanguageModelData
  LessonModel model;
  std::unique_ptr<torch::optim::Adam> opt;
  // len(trn_dl): what progress bars and CosAnneal count as an epoch.
  int64_t batches_per_epoch() const { return md ? md->trn_dl.num_batches() : lm->trn_dl.size(); }
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

// Python's text mode ends a line at '\n', '\r\n' or '\r' (data/language_model_data.h).
int64_t count_lines(std::u32string_view text) {
  int64_t lines = 0;
  for (size_t k = 0; k < text.size(); ++k) {
    if (text[k] == U'\n' || (text[k] == U'\r' && (k + 1 == text.size() || text[k + 1] != U'\n'))) ++lines;
  }
  return lines + (text.empty() || text.back() == U'\n' || text.back() == U'\r' ? 0 : 1);
}

// The notebook's trn/ holds the first 7998 lines of nietzsche.txt and val/ the rest. A text of
// no more lines than that (another corpus, or --max-chars) trains on its first 80% of lines,
// about the lesson's share (7998 of 9935), unless --trn-lines says otherwise.
int64_t resolve_trn_lines(const Corpus& corpus, int64_t asked) {
  const int64_t lines = count_lines(corpus.text);
  if (lines < 2) {
    throw InputError(fmt::format("{}: {} line(s); the stateful models train on the first lines of the text and "
                                 "validate on the rest, so it needs at least 2 (and enough characters for a batch "
                                 "in each part)",
                                 corpus.name, lines));
  }
  if (asked > 0) return asked;
  return lines > kLessonTrnLines ? kLessonTrnLines : std::max<int64_t>(1, lines * 4 / 5);
}

// LanguageModelData.from_text_files at bs 64, bptt 8, min_freq 3, the lengths drawn from a
// numpy stream seeded with the run's seed.
LanguageModelData language_model_data(const Corpus& corpus, RunConfig& config, int64_t bptt) {
  if (config.seed > UINT32_MAX) {
    throw InputError(fmt::format("--seed {}: the stateful models seed numpy's stream, which takes seeds below 2^32",
                                 config.seed));
  }
  config.trn_lines = resolve_trn_lines(corpus, config.trn_lines);
  auto lm = from_text_files(split_lines(corpus.text, config.trn_lines, corpus.name),
                            std::make_shared<NumpyRandomState>(static_cast<uint32_t>(config.seed)), config.bs, bptt);
  if (!config.itos.empty() && config.itos != lm.field.vocab.itos()) {
    throw InputError(fmt::format("{}: its vocabulary differs from the one the run was started with", config.text));
  }
  config.itos = lm.field.vocab.itos();
  config.vocab.clear();
  config.model.vocab_size = lm.nt;
  return lm;
}

// A saved position is checked against the training loader that config.json records, so a
// resumed run must cut the same one.
void record_trn_dl(RunConfig& config, int64_t batches, int64_t rows) {
  if (config.trn_batches != 0 && (batches != config.trn_batches || rows != config.trn_rows)) {
    throw InputError(fmt::format("{}: gives a training loader of {} batches over {} rows; the run was started with "
                                 "{} batches over {} rows",
                                 config.text, batches, rows, config.trn_batches, config.trn_rows));
  }
  config.trn_batches = batches;
  config.trn_rows = rows;
}

// LayerOptimizer(optim.Adam, m, lr, wd): one parameter group, coupled L2 weight decay, torch's
// update bit for bit (train/adam.h).
std::unique_ptr<torch::optim::Adam> layer_optimizer(LessonModel& model, const RunConfig& config) {
  return std::make_unique<Adam>(
      model.module->parameters(), torch::optim::AdamOptions(config.schedule.at(0).lr).weight_decay(config.wd));
}

// Where a run's sizes came from, for the error line when they cannot fit: the flags of a fresh
// run, or the config.json a resumed run reads.
std::string size_source(const RunConfig& c, int64_t window, const std::optional<fs::path>& config_file) {
  if (!config_file) {
    return fmt::format("--n-fac {}, --n-hidden {}, --window {}, --bs {}", c.model.n_fac, c.model.n_hidden, window,
                       c.bs);
  }
  return fmt::format("{} (vocab_size {}, n_fac {}, n_hidden {}, nl {}, window {}, bs {})", config_file->string(),
                     c.model.vocab_size, c.model.n_fac, c.model.n_hidden, c.model.nl, window, c.bs);
}

Run build_run(RunConfig config, const torch::Device& device, const std::optional<fs::path>& config_file) {
  const auto& spec = find_model(config.model.model);
  const int64_t window = config.window > 0 ? config.window : default_window(spec.layout);
  // Before the text is read, with the smallest vocabulary it could have; again below with its own.
  auto smallest = config.model;
  smallest.vocab_size = config_file ? config.model.vocab_size : 1;
  check_model_fits(smallest, window, config.bs, size_source(config, window, config_file));
  const auto corpus = read_training_text(config);
  const auto file_digest = digest_file(config.text, "a UTF-8 text file");
  const auto trained_digest = digest_of(encode_utf8(corpus.text));
  check_same_text(config, file_digest, trained_digest);
  config.text_digest = file_digest;
  config.trained_digest = trained_digest;
  std::optional<ModelData> md;
  std::optional<LanguageModelData> lm;
  if (spec.is_stateful()) {
    lm.emplace(language_model_data(corpus, config, window));
  } else {
    if (!config.vocab.empty() && config.vocab != corpus.vocab.chars()) {
      throw InputError(fmt::format("{}: its vocabulary differs from the one the run was started with", config.text));
    }
    config.vocab = corpus.vocab.chars();
    config.model.vocab_size = corpus.vocab.size();
    md.emplace(lesson_data(corpus, spec.layout, window, config.bs, config.seed));
    check_split(corpus, spec, window, *md);
  }
  record_trn_dl(config, md ? md->trn_dl.num_batches() : lm->trn_dl.size(),
                md ? md->trn_dl.num_rows() : lm->trn_dl.data().size(0));
  check_model_fits(config.model, window, config.bs, size_source(config, window, config_file));
  torch::manual_seed(config.seed);  // the initial weights (and the LSTM's dropout masks) follow the seed
  auto model = make_model(config.model);
  model.module->to(device);
  auto opt = layer_optimizer(model, config);
  return {std::move(config), &spec, window, std::move(md), std::move(lm), std::move(model), std::move(opt)};
}

// A stateful run's randomness is numpy's stream (the sequence lengths) and torch's global
// generator (the LSTM's dropout masks); its model carries a state from batch to batch.
void save_train_state(Run& run, const TrainPosition& pos, const fs::path& dir) {
  if (run.md) {
    save_checkpoint(dir, *run.model.module, *run.opt, pos, run.md->trn_dl.generator_state());
    return;
  }
  const StatefulResume stateful{run.lm->np_random->state(), run.model.stateful->state()};
  save_checkpoint(dir, *run.model.module, *run.opt, pos, at::detail::getDefaultCPUGenerator().get_state(), &stateful);
}

RunShape shape_of(const RunConfig& config) {
  RunShape shape{{}, config.trn_batches, config.trn_rows, find_model(config.model.model).is_stateful()};
  for (const auto& call : config.schedule) shape.epochs_per_fit.push_back(call.epochs);
  return shape;
}

void set_generator(at::Generator generator, const torch::Tensor& state, const fs::path& dir) {
  try {
    const std::lock_guard<std::mutex> lock(generator.mutex());
    generator.set_state(state);
  } catch (const std::exception& e) {
    throw InputError(fmt::format("{}: its random state does not load ({})", (dir / kTrainStateFile).string(), e.what()));
  }
}

// numpy's stream into np_random, torch's into generator, the carried hidden state into model.
void restore_stateful(const LoadedCheckpoint& loaded, NumpyRandomState& np_random, at::Generator generator,
                      LessonModel& model, const fs::path& dir) {
  const auto file = (dir / kTrainStateFile).string();
  if (!loaded.stateful) {
    throw InputError(fmt::format("{}: holds no numpy stream or hidden state; not a checkpoint of a stateful model's "
                                 "run",
                                 file));
  }
  try {
    np_random.set_state(loaded.stateful->numpy);
  } catch (const std::exception& e) {
    throw InputError(fmt::format("{}: its numpy state does not load ({})", file, e.what()));
  }
  set_generator(std::move(generator), loaded.generator_state, dir);
  std::vector<torch::Tensor> hidden;
  for (const auto& h : loaded.stateful->hidden) hidden.push_back(h.to(model.module->parameters().at(0).device()));
  try {
    model.stateful->set_state(hidden);
  } catch (const InputError& e) {
    throw InputError(fmt::format("{}: 'stateful.hidden': {}", file, e.what()));
  }
}

TrainPosition load_train_state(Run& run, const fs::path& dir) {
  const auto loaded = load_checkpoint(dir, *run.model.module, *run.opt, shape_of(run.config));
  if (run.md) {
    run.md->trn_dl.set_generator_state(loaded.generator_state);
  } else {
    // torch's global generator: the one the LSTM's dropout masks are drawn from.
    restore_stateful(loaded, *run.lm->np_random, at::detail::getDefaultCPUGenerator(), run.model, dir);
  }
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

// CHARNN_TEST_HOLD=step:N (common/test_hold.h): the run's N-th step, once every other observer
// has seen it, so its metrics row and checkpoint are on disk.
class TestHold : public FitObserver {
 public:
  explicit TestHold(const TrainPosition& pos) : pos_(pos) {}
  void on_batch_end(const BatchEvent& e) override { test_hold("step", pos_.steps_before + e.state.batches_seen); }

 private:
  const TrainPosition& pos_;
};

std::string fit_label(const Run& run, int64_t i, double lr) {
  const auto& call = run.config.schedule[static_cast<size_t>(i)];
  if (call.kind == FitCall::Kind::CosAnneal) {
    return fmt::format("{} fit {}/{} ({} epoch(s), CosAnneal from lr {}, cycle_mult {})", run.spec->name, i + 1,
                       run.config.schedule.size(), call.epochs, lr, call.cycle_mult);
  }
  return fmt::format("{} fit {}/{} ({} epoch(s) at lr {})", run.spec->name, i + 1, run.config.schedule.size(),
                     call.epochs, lr);
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
    const double lr = call.lr_from_previous ? pos.lrs : call.lr;
    set_lrs(*run.opt, lr);
    ProgressObserver progress(fit_label(run, pos.fit_index, lr), run.config.bs);
    EpochRowPrinter rows;
    MetricsWriter metrics(options.out, options.metrics_every, pos.fit_index, lr, pos.steps_before);
    Checkpointer checkpointer(run, pos, options.out, options.checkpoint_every, last_saved_step);
    StopOnFlag stop(options.stop_signal);
    TestHold hold(pos);
    std::vector<FitObserver*> observers{&rows, &metrics, &checkpointer, &hold, &stop};
    if (options.progress) observers.insert(observers.begin(), &progress);
    // The notebook's on_cycle_end: save_model(m, f'{PATH}models/cyc_{cycle}').
    std::optional<CosAnnealObserver> cos;
    if (call.kind == FitCall::Kind::CosAnneal) {
      cos.emplace(*run.opt, CosAnneal(lr, run.batches_per_epoch(), call.cycle_mult), [&](int64_t cycle) {
        save_state_dict(*run.model.module, options.out / fmt::format("cyc_{}.pt", cycle));
      });
      observers.push_back(&*cos);
    }
    const auto start = std::chrono::steady_clock::now();
    FitResult fitted;
    try {
      const InFit in_fit(options.in_fit);
      fitted = run.md ? fit(run.model, *run.md, call.epochs, *run.opt, run.spec->loss, observers, pos.fit,
                            options.device, static_cast<int>(run.config.shards))
                      : fit(run.model, *run.lm, call.epochs, *run.opt, observers, pos.fit, options.device);
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
    pos.lrs = cos ? cos->last_lr() : lr;  // lo.lrs: what a later 'prev' call starts from
    save_train_state(run, {pos.fit_index + 1, pos.steps_before, pos.fit, pos.lrs}, options.out);
    last_saved_step = pos.steps_before;
  }
  result.plotted = plot_losses(options.out);
  return result;
}

}  // namespace

SessionResult train_run(RunConfig config, const SessionOptions& options) {
  check_schedule(config.schedule, "--fit");
  config.vocab.clear();
  config.itos.clear();
  if (find_model(config.model.model).is_stateful()) {
    // The state runs through all bs columns of a batch; the stateful fit is the plain step.
    if (config.shards > 1) {
      throw InputError(fmt::format("--shards {}: the stateful models train with the plain step (--shards 1)",
                                   config.shards));
    }
    config.shards = 1;
  } else {
    config.shards = options.device.is_cpu() ? resolve_shards(static_cast<int>(config.shards)) : 1;
  }
  auto run = build_run(std::move(config), options.device, std::nullopt);
  fs::create_directories(options.out);
  // Everything of an earlier run goes, model.pt included: a new config.json beside an old
  // model.pt would load (or fail to) as if they belonged together.
  remove_run_files(options.out);
  write_run_config(options.out, run.config);
  return run_schedule(run, TrainPosition{}, options);
}

SessionResult resume_run(const SessionOptions& options) {
  auto config = read_run_config(options.out);
  auto run = build_run(std::move(config), options.device, options.out / kConfigFile);
  auto pos = load_train_state(run, options.out);
  if (pos.fit_index == static_cast<int64_t>(run.config.schedule.size())) {
    SessionResult finished;
    finished.already_finished = true;
    return finished;
  }
  drop_metrics_after_position(run, pos, options.out);
  remove_stale_temp_files(options.out);
  note(fmt::format("charnn: resuming {} at fit call {}, epoch {}, batch {} (step {})\n", options.out.string(),
                   pos.fit_index + 1, pos.fit.epoch, pos.fit.batch, pos.step()));
  const int64_t step = pos.step();
  return run_schedule(run, std::move(pos), options, step);
}

ResumePoint read_resume_point(const fs::path& dir) {
  auto config = read_run_config(dir);
  TrainPosition pos;
  if (config.trn_batches == 0) {
    // A run saved before config.json recorded its loader: only the corpus can tell its size.
    auto run = build_run(std::move(config), torch::kCPU, dir / kConfigFile);
    pos = load_train_state(run, dir);
  } else {
    // Everything is loaded and checked as --resume would, into scratch copies of the model,
    // the optimizer and the random streams.
    const auto window = config.window > 0 ? config.window : default_window(find_model(config.model.model).layout);
    check_model_fits(config.model, window, config.bs, size_source(config, window, dir / kConfigFile));
    auto model = make_model(config.model);
    auto opt = layer_optimizer(model, config);
    const auto loaded = load_checkpoint(dir, *model.module, *opt, shape_of(config));
    if (model.stateful) {
      NumpyRandomState np_random(0);
      restore_stateful(loaded, np_random, at::detail::createCPUGenerator(), model, dir);
    } else {
      set_generator(at::detail::createCPUGenerator(), loaded.generator_state, dir);
    }
    pos = loaded.position;
  }
  return {pos.fit_index, pos.fit.epoch, pos.fit.batch, pos.step()};
}

LoadedModel load_run_model(const fs::path& dir) {
  auto config = read_run_config(dir);
  const auto& spec = find_model(config.model.model);
  const int64_t window = config.window > 0 ? config.window : default_window(spec.layout);
  // Sampling runs one row at a time.
  check_model_fits(config.model, window, 1, size_source(config, window, dir / kConfigFile));
  auto model = make_model(config.model);
  load_state_dict(*model.module, dir / kModelFile);
  auto vocab = Vocab::from_chars(config.vocab);
  return {std::move(config), std::move(vocab), std::move(model), window};
}

}  // namespace charnn
