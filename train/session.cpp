#include "train/session.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <chrono>
#include <climits>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "data/layouts.h"
#include "data/loader.h"
#include "data/split.h"
#include "train/atomic_file.h"
#include "train/checkpoint.h"
#include "train/observers.h"
#include "train/plot.h"
#include "train/report.h"
#include "train/sharded_step.h"
#include "train/torch_compat.h"
#include "train/zip_check.h"

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
  const int64_t window = config.window > 0 ? config.window : default_window(spec.layout);
  const auto corpus = read_training_text(config);
  if (!config.vocab.empty() && config.vocab != corpus.vocab.chars()) {
    throw InputError(fmt::format("{}: its vocabulary differs from the one the run was started with", config.text));
  }
  config.vocab = corpus.vocab.chars();
  config.model.vocab_size = corpus.vocab.size();
  const auto windows = make_windows(corpus, spec.layout, window);
  auto md = from_arrays(lesson_val_idxs(spec.layout, windows.rows(), window), windows, config.bs, config.seed);
  check_split(corpus, spec, window, md);
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

// Always into a fresh tensor: InputArchive::read into a defined one does Tensor::set_, which
// fails ("Trying to resize storage that is not resizable") when the dtypes differ.
torch::Tensor read_tensor(torch::serialize::InputArchive& a, const char* key) {
  torch::Tensor t;
  a.read(key, t);
  return t;
}

int64_t read_int(torch::serialize::InputArchive& a, const char* key) { return read_tensor(a, key).item<int64_t>(); }

// c10::Error messages run over several lines (and may carry a backtrace); one is enough.
std::string first_line(const std::string& message) { return message.substr(0, message.find('\n')); }

// A train_state.pt that parses but does not fit this run (edited, truncated in a way the
// archive did not notice, or copied from another run) would fail deep inside training or
// silently train on the wrong rows: check the position against the run before using it.
void check_position(const Run& run, const Position& pos, const fs::path& path) {
  const auto fits = static_cast<int64_t>(run.config.schedule.size());
  const int64_t nb = run.md.trn_dl.num_batches();
  const int64_t epochs = pos.fit_index < fits && pos.fit_index >= 0
                             ? run.config.schedule[static_cast<size_t>(pos.fit_index)].epochs
                             : 0;
  const auto& f = pos.fit;
  int64_t steps_before = 0;  // every earlier fit call ran all its epochs of nb batches
  for (int64_t i = 0; i < std::min(pos.fit_index, fits); ++i) {
    steps_before += run.config.schedule[static_cast<size_t>(i)].epochs * nb;
  }
  std::string problem;
  if (pos.fit_index < 0 || pos.fit_index > fits) {
    problem = fmt::format("fit call {} of a {}-call schedule", pos.fit_index + 1, fits);
  } else if (f.epoch < 0 || f.epoch > epochs || f.batch < 0 || f.batch > nb || pos.steps_before < 0) {
    problem = fmt::format("position epoch {}, batch {} outside {} epoch(s) of {} batches", f.epoch, f.batch, epochs, nb);
  } else if (f.batches_seen != f.epoch * nb + f.batch || static_cast<int64_t>(f.rows.size()) != f.epoch ||
             pos.steps_before != steps_before) {
    problem = fmt::format("inconsistent position (epoch {}, batch {}, {} batches seen, {} epoch rows, {} steps "
                          "before this fit call where the run has {})",
                          f.epoch, f.batch, f.batches_seen, f.rows.size(), pos.steps_before, steps_before);
  } else if (!std::isfinite(f.avg_loss)) {
    problem = fmt::format("smoothed loss state is {}", f.avg_loss);
  } else if (f.batch > 0 && !f.order.defined()) {
    problem = "mid-epoch position without the epoch's batch order";
  } else if (f.order.defined() && (f.order.scalar_type() != torch::kInt64 || f.order.dim() != 1 ||
                                   f.order.numel() != run.md.trn_dl.num_rows() ||
                                   (f.order.numel() > 0 && (f.order.min().item<int64_t>() < 0 ||
                                                            f.order.max().item<int64_t>() >= f.order.numel())))) {
    problem = fmt::format("batch order is not a permutation of the run's {} training rows", run.md.trn_dl.num_rows());
  }
  if (!problem.empty()) throw InputError(fmt::format("{}: {}; not a checkpoint of this run", path.string(), problem));
}

std::string shape_of(const torch::Tensor& t) { return fmt::format("[{}]", fmt::join(t.sizes(), ", ")); }

// Module::load replaces each parameter wholesale (Tensor::set_), shape included, so a file
// from a model of another size would silently resize this one: compare against the shapes
// the run's config.json gives.
void load_model_state(Run& run, torch::serialize::InputArchive& archive) {
  std::vector<std::pair<std::string, std::string>> expected;
  for (const auto& p : run.model.module->named_parameters()) expected.emplace_back(p.key(), shape_of(p.value()));
  run.model.module->load(archive);
  const auto loaded = run.model.module->named_parameters();
  for (const auto& [key, shape] : expected) {
    if (shape_of(loaded[key]) != shape) {
      throw InputError(fmt::format("key '{}' has shape {} in the file but {} in the model", key,
                                   shape_of(loaded[key]), shape));
    }
  }
}

// Adam's moments must match their parameters, or the first step fails inside LibTorch.
void check_optimizer_shapes(torch::optim::Optimizer& opt) {
  for (const auto& p : opt.param_groups().at(0).params()) {
    const auto it = opt.state().find(optimizer_state_key(p));
    if (it == opt.state().end()) continue;
    const auto* adam = dynamic_cast<const torch::optim::AdamParamState*>(it->second.get());
    if (adam == nullptr || !adam->exp_avg().sizes().equals(p.sizes()) ||
        !adam->exp_avg_sq().sizes().equals(p.sizes())) {
      throw InputError(fmt::format("optimizer state does not match a parameter of shape {}", shape_of(p)));
    }
  }
}

Position read_position(Run& run, torch::serialize::InputArchive& archive) {
  torch::serialize::InputArchive model_archive, opt_archive;
  archive.read("model", model_archive);
  archive.read("optimizer", opt_archive);
  load_model_state(run, model_archive);
  run.opt->load(opt_archive);
  check_optimizer_shapes(*run.opt);
  Position pos;
  pos.fit_index = read_int(archive, "fit_index");
  pos.steps_before = read_int(archive, "steps_before");
  pos.fit.epoch = read_int(archive, "epoch");
  pos.fit.batch = read_int(archive, "batch");
  pos.fit.batches_seen = read_int(archive, "batches_seen");
  pos.fit.avg_loss = read_tensor(archive, "avg_loss").item<double>();
  if (read_int(archive, "has_order") != 0) pos.fit.order = read_tensor(archive, "order");
  run.md.trn_dl.set_generator_state(read_tensor(archive, "generator"));
  auto t = read_tensor(archive, "rows");
  if (t.dim() != 2 || t.size(1) != 3) throw InputError(fmt::format("epoch rows of {} dimension(s)", t.dim()));
  t = t.to(torch::kFloat64).contiguous();
  for (int64_t i = 0; i < t.size(0); ++i) {
    const auto* r = t.data_ptr<double>() + 3 * i;
    pos.fit.rows.push_back({static_cast<int64_t>(r[0]), r[1], r[2]});
  }
  return pos;
}

Position load_train_state(Run& run, const fs::path& dir) {
  const auto path = dir / kTrainStateFile;
  if (!fs::exists(path)) throw InputError(fmt::format("{}: missing; nothing to resume", path.string()));
  verify_zip_records(path);
  Position pos;
  try {
    torch::serialize::InputArchive archive;
    archive.load_from(path.string());
    pos = read_position(run, archive);
  } catch (const c10::Error& e) {
    throw InputError(
        fmt::format("{}: unreadable or corrupt ({})", path.string(), first_line(e.what_without_backtrace())));
  } catch (const InputError& e) {
    throw InputError(fmt::format("{}: unreadable or corrupt ({})", path.string(), first_line(e.what())));
  }
  check_position(run, pos, path);
  return pos;
}

// Rows of a metrics CSV after the first `keep` data rows, or whose `step` column exceeds
// `max_step`, were written after the checkpoint (a SIGKILL lands between two checkpoints);
// the resumed run writes those steps again, so they are dropped first.
void drop_rows_after(const fs::path& path, size_t step_column, int64_t max_step, int64_t keep) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return;
  std::string line, kept;
  bool changed = false;
  for (int64_t row = -1; std::getline(in, line); ++row) {  // row -1 is the header
    int64_t step = 0;
    std::istringstream fields(line);
    std::string field;
    for (size_t i = 0; i <= step_column && std::getline(fields, field, ','); ++i) {
      if (i == step_column && row >= 0) step = std::strtoll(field.c_str(), nullptr, 10);
    }
    if (row >= keep || step > max_step) {
      changed = true;
      continue;
    }
    kept += line + "\n";
  }
  if (changed) write_file_atomically(path, kept);
}

// A write killed before its rename leaves ".<name>.tmp.<pid>" beside the file (see
// write_file_atomically); the file itself is intact, the temp file is litter.
void remove_stale_temp_files(const fs::path& dir) {
  for (const auto& entry : fs::directory_iterator(dir)) {
    const auto name = entry.path().filename().string();
    if (name.size() > 1 && name[0] == '.' && name.find(".tmp") != std::string::npos && entry.is_regular_file()) {
      fs::remove(entry.path());
    }
  }
}

int64_t run_step(const Position& pos) { return pos.steps_before + pos.fit.batches_seen; }

// epochs.csv holds one row per finished epoch; batches.csv one per logged step.
void drop_metrics_after(const Run& run, const Position& pos, const fs::path& dir) {
  int64_t epoch_rows = static_cast<int64_t>(pos.fit.rows.size());
  for (int64_t i = 0; i < pos.fit_index; ++i) epoch_rows += run.config.schedule[static_cast<size_t>(i)].epochs;
  drop_rows_after(dir / MetricsWriter::kBatchesFile, 4, run_step(pos), INT64_MAX);
  drop_rows_after(dir / MetricsWriter::kEpochsFile, 3, INT64_MAX, epoch_rows);
}

// Saves a resumable checkpoint every `every` batches and at every epoch end, and remembers
// the step of the last one, which a failing run reports as the one it keeps.
class Checkpointer : public FitObserver {
 public:
  Checkpointer(Run& run, const Position& pos, fs::path dir, int64_t every, int64_t& last_saved_step)
      : run_(run), pos_(pos), dir_(std::move(dir)), every_(every), last_saved_step_(last_saved_step) {}
  void on_batch_end(const BatchEvent& e) override {
    if (every_ > 0 && e.state.batches_seen % every_ == 0) save(e.state);
  }
  void on_epoch_end(const EpochRow& /*row*/, const FitState& state) override { save(state); }

 private:
  void save(const FitState& state) {
    const Position at{pos_.fit_index, pos_.steps_before, state};
    save_train_state(run_, at, dir_);
    last_saved_step_ = run_step(at);
  }
  Run& run_;
  const Position& pos_;
  fs::path dir_;
  int64_t every_;
  int64_t& last_saved_step_;
};

// --no-progress still prints the notebook's epoch rows (the progress observer prints them
// otherwise).
class EpochRowPrinter : public FitObserver {
 public:
  void on_epoch_end(const EpochRow& row, const FitState& /*state*/) override {
    fmt::print(stdout, "{}\n", format_epoch_row(row));
    std::fflush(stdout);
  }
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

// fit() names the epoch and batch; the user also needs the fit call and what is left on disk.
[[noreturn]] void rethrow_non_finite(const NonFiniteLoss& e, int64_t fit_index, int64_t last_saved_step,
                                     const fs::path& dir) {
  const auto kept = last_saved_step < 0
                        ? std::string("no checkpoint was saved yet")
                        : fmt::format("the last checkpoint (step {} of the run) is kept in {}", last_saved_step,
                                      dir.string());
  throw NonFiniteLoss(fmt::format("fit call {}: {}; {}", fit_index + 1, e.what(), kept));
}

SessionResult run_schedule(Run& run, Position pos, const SessionOptions& options,
                           int64_t last_saved_step = -1) {
  SessionResult result;
  for (; pos.fit_index < static_cast<int64_t>(run.config.schedule.size()); ++pos.fit_index) {
    const auto call = run.config.schedule[static_cast<size_t>(pos.fit_index)];
    set_lrs(*run.opt, call.lr);
    ProgressObserver progress(fit_label(run, pos.fit_index), run.config.bs);
    MetricsWriter metrics(options.out, options.metrics_every, pos.fit_index, call.lr, pos.steps_before);
    Checkpointer checkpointer(run, pos, options.out, options.checkpoint_every, last_saved_step);
    StopOnSignal stop(options.stop_signal);
    EpochRowPrinter rows;
    std::vector<FitObserver*> observers{&metrics, &checkpointer, &stop};
    observers.insert(observers.begin(), options.progress ? static_cast<FitObserver*>(&progress) : &rows);
    const auto start = std::chrono::steady_clock::now();
    FitResult fitted;
    try {
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
  return run_schedule(run, Position{}, options);
}

SessionResult resume_run(const SessionOptions& options) {
  auto config = read_run_config(options.out);
  auto run = build_run(std::move(config), options.device);
  auto pos = load_train_state(run, options.out);
  drop_metrics_after(run, pos, options.out);
  remove_stale_temp_files(options.out);
  fmt::print(stderr, "charnn: resuming {} at fit call {}, epoch {}, batch {} (step {})\n", options.out.string(),
             pos.fit_index + 1, pos.fit.epoch, pos.fit.batch, run_step(pos));
  const int64_t step = run_step(pos);
  return run_schedule(run, std::move(pos), options, step);
}

ResumePoint read_resume_point(const fs::path& dir) {
  auto run = build_run(read_run_config(dir), torch::kCPU);
  const auto pos = load_train_state(run, dir);
  return {pos.fit_index, pos.fit.epoch, pos.fit.batch, run_step(pos)};
}

LoadedModel load_run_model(const fs::path& dir) {
  auto config = read_run_config(dir);
  const auto& spec = find_model(config.model.model);
  auto model = make_model(config.model);
  if (fs::is_regular_file(dir / kModelFile)) verify_zip_records(dir / kModelFile);
  load_state_dict(*model.module, dir / kModelFile);
  auto vocab = Vocab::from_chars(config.vocab);
  const int64_t window = config.window > 0 ? config.window : default_window(spec.layout);
  return {std::move(config), std::move(vocab), std::move(model), window};
}

}  // namespace charnn
