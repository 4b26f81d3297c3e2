// `charnn lesson`: every section of the notebook, its schedule, and our losses beside the
// notebook's printed ones. Each section is a run directory under --out, taken as `train` takes
// one (train/run/run_directory.h): a finished section is kept, an interrupted one resumes, and a
// run with other settings is replaced only with --force.
#include <fmt/format.h>

#include <cmath>
#include <filesystem>
#include <optional>

#include "app/commands.h"
#include "common/console.h"
#include "common/limits.h"
#include "train/io/atomic_file.h"
#include "train/io/metrics.h"
#include "train/io/run_files.h"
#include "train/io/run_lock.h"
#include "train/run/lesson.h"
#include "train/run/run_directory.h"
#include "train/run/session.h"

namespace charnn::cli {
namespace {

namespace fs = std::filesystem;

constexpr int64_t kQuickChars = 30000;  // enough for every layout to have a few batches
constexpr int64_t kQuickEpochs = 1;     // per fit call: the LSTM's 80 epochs would take minutes even there

struct TableRow {
  std::string section;
  int64_t fit;
  FitCall call;
  EpochRow ours;
  NotebookLoss notebook;
  std::optional<double> seconds;  // unset: the call finished in an earlier process
  bool resumed = false;           // seconds are this process's part of the call only
};

std::string diff_text(double ours, std::optional<double> theirs) {
  return theirs ? fmt::format("{:+.3f}", ours - *theirs) : "n/a";
}

bool within_band(const TableRow& r) {
  const bool trn_ok = std::abs(r.ours.trn_loss - r.notebook.trn) <= kLessonTolerance;
  return trn_ok && (!r.notebook.val || std::abs(r.ours.val_loss - *r.notebook.val) <= kLessonTolerance);
}

std::string wall_text(const TableRow& r) {
  if (!r.seconds) return "(earlier)";
  return fmt::format("{:.1f}{}", *r.seconds, r.resumed ? " (resumed)" : "");
}

std::string markdown(const std::vector<TableRow>& rows, bool quick) {
  std::string md = fmt::format(
      "| model | fit call | ours trn | ours val | notebook trn | notebook val | Δ trn | Δ val | within ±{} | wall s |\n"
      "|---|---|---|---|---|---|---|---|---|---|\n",
      kLessonTolerance);
  for (const auto& r : rows) {
    md += fmt::format("| {} | {} ({}) | {:.5f} | {:.5f} | {:.5f} | {} | {} | {} | {} | {} |\n", r.section, r.fit,
                      describe(r.call), r.ours.trn_loss, r.ours.val_loss, r.notebook.trn,
                      r.notebook.val ? fmt::format("{:.5f}", *r.notebook.val) : "(one row)",
                      diff_text(r.ours.trn_loss, r.notebook.trn), diff_text(r.ours.val_loss, r.notebook.val),
                      quick ? "(quick)" : (within_band(r) ? "yes" : "NO"), wall_text(r));
  }
  return md;
}

std::string csv(const std::vector<TableRow>& rows) {
  std::string out = "model,fit,call,trn_loss,val_loss,notebook_trn,notebook_val,seconds\n";
  for (const auto& r : rows) {
    out += fmt::format("{},{},{},{:.6f},{:.6f},{},{},{}\n", r.section, r.fit, describe(r.call), r.ours.trn_loss,
                       r.ours.val_loss, r.notebook.trn, r.notebook.val ? fmt::format("{}", *r.notebook.val) : "",
                       r.seconds ? fmt::format("{:.2f}", *r.seconds) : "");
  }
  return out;
}

bool selected(const LessonArgs& a, const std::string& name) {
  return a.only.empty() || std::find(a.only.begin(), a.only.end(), name) != a.only.end();
}

RunConfig section_config(const LessonSection& section, const LessonArgs& a) {
  RunConfig config;
  config.model = section.model;
  config.schedule = section.schedule;
  if (a.quick) {
    for (auto& call : config.schedule) call.epochs = std::min(call.epochs, kQuickEpochs);
  }
  config.bs = section.bs;
  config.wd = section.wd;
  config.seed = a.seed;
  config.text = fs::absolute(resolve_text(a.text)).lexically_normal().string();
  config.max_chars = a.quick ? kQuickChars : 0;
  config.shards = a.shards;
  return config;
}

// The first setting in which a kept run differs from the section's, as "seed 1, not 0"; empty
// when the run is the one this command would make. The derived settings (the vocabulary, the
// resolved shards and lines) follow from these.
std::string first_difference(const RunConfig& kept, const RunConfig& wanted) {
  const auto& k = kept.model;
  const auto& w = wanted.model;
  auto differs = [](const char* name, const auto& a, const auto& b) {
    return a == b ? std::string() : fmt::format("{} {}, not {}", name, a, b);
  };
  std::string schedule_k, schedule_w;
  for (const auto& c : kept.schedule) schedule_k += (schedule_k.empty() ? "" : " ") + describe(c);
  for (const auto& c : wanted.schedule) schedule_w += (schedule_w.empty() ? "" : " ") + describe(c);
  for (auto d : {differs("model", k.model, w.model), differs("n_fac", k.n_fac, w.n_fac),
                 differs("n_hidden", k.n_hidden, w.n_hidden), differs("identity_init", k.identity_init, w.identity_init),
                 differs("nl", k.nl, w.nl), differs("dropout", k.dropout, w.dropout),
                 differs("schedule", schedule_k, schedule_w), differs("seed", kept.seed, wanted.seed),
                 differs("bs", kept.bs, wanted.bs), differs("wd", kept.wd, wanted.wd),
                 differs("window", kept.window, wanted.window), differs("text", kept.text, wanted.text),
                 differs("max_chars", kept.max_chars, wanted.max_chars)}) {
    if (!d.empty()) return d;
  }
  return {};
}

struct SectionRun {
  SessionResult result;
  int64_t first_fit_here = 0;  // fit calls before it finished in an earlier process
  bool resumed = false;
};

// Why the run in dir is not this section's, or nothing when it is.
std::string foreign_run(const fs::path& dir, const RunConfig& config) {
  try {
    const auto difference = first_difference(read_run_config(current_run(dir)), config);
    if (!difference.empty()) return fmt::format("a run with other settings ({})", difference);
    read_resume_point(dir);
    return {};
  } catch (const InputError& e) {
    return fmt::format("a run charnn cannot continue ({})", e.what());
  }
}

SectionRun run_section(const RunConfig& config, const SessionOptions& options, const LessonArgs& a) {
  RunDirectory dir(options.out, "--out");
  SectionRun run;
  if (dir.holds_run()) {
    if (const auto why = foreign_run(options.out, config); why.empty()) {
      run.first_fit_here = read_resume_point(options.out).fit;
      run.resumed = true;
      run.result = resume_run(options);
      dir.commit();
      return run;
    } else if (!a.force) {
      throw InputError(fmt::format("--out {}: {} holds {}; pass --force to replace it, or give another --out", a.out,
                                   options.out.string(), why));
    }
    dir.replace();
  }
  dir.start_fresh();
  run.result = train_run(config, options);
  dir.commit();
  return run;
}

// The table's rows of a finished section, from its epochs.csv: the last row of each fit call.
void add_rows(std::vector<TableRow>& rows, const LessonSection& section, const RunConfig& config,
              const SectionRun& run, const fs::path& dir) {
  const auto csv_rows = read_epochs_csv(dir);
  for (size_t i = 0; i < config.schedule.size(); ++i) {
    const auto last = std::find_if(csv_rows.rbegin(), csv_rows.rend(),
                                   [i](const EpochsCsvRow& r) { return r.fit == static_cast<int64_t>(i); });
    if (last == csv_rows.rend()) {
      throw InputError(fmt::format("{}: no row of fit call {}", (dir / MetricsWriter::kEpochsFile).string(), i + 1));
    }
    TableRow row{section.name, static_cast<int64_t>(i + 1), config.schedule[i], last->row, section.notebook[i], {}};
    const auto here = static_cast<int64_t>(i) - run.first_fit_here;
    if (!run.result.already_finished && here >= 0 && here < static_cast<int64_t>(run.result.fits.size())) {
      row.seconds = run.result.fits[static_cast<size_t>(here)].seconds;
      row.resumed = run.resumed && here == 0;
    }
    rows.push_back(row);
  }
}

// --out holds lesson.md, lesson.csv and the sections' run directories: nothing else of the user's.
void check_lesson_dir(const fs::path& out, const std::string& flag_value) {
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(out, ec)) {
    const auto name = entry.path().filename().string();
    bool ours = name == "lesson.md" || name == "lesson.csv" || name == ".lock" ||
                (name.size() > 1 && name[0] == '.' && name.find(".tmp") != std::string::npos);
    for (const auto& s : lesson_sections()) ours = ours || (name == s.name && entry.is_directory());
    if (!ours) {
      throw InputError(fmt::format("--out {}: holds '{}', which is not part of a lesson; give a new or empty "
                                   "directory, or one an earlier `charnn lesson` wrote",
                                   flag_value, name));
    }
  }
}

int report_lesson_stop(const LessonSection& section, const SectionRun& run, const fs::path& dir, size_t finished) {
  const auto& r = run.result;
  note(fmt::format("charnn: lesson interrupted by signal {} in {} (fit call {}, epoch {}, batch {}); its checkpoint "
                   "is saved in {}, and {} section(s) before it are finished.\n"
                   "continue with the same `charnn lesson` command: finished sections are kept, this one resumes\n",
                   g_stop_signal.load(), section.name, r.stopped_fit + 1, r.stopped_epoch, r.stopped_batch,
                   dir.string(), finished));
  return 128 + g_stop_signal.load();
}

}  // namespace

int run_lesson(const LessonArgs& a) {
  check_shards(a.shards);
  for (const auto& name : a.only) {
    bool known = false;
    for (const auto& s : lesson_sections()) known = known || s.name == name;
    if (!known) throw InputError(fmt::format("--only {}: no such lesson section", name));
  }
  make_writable_dir(a.out, "--out");
  const RunLock lock(a.out);
  check_lesson_dir(a.out, a.out);
  std::vector<TableRow> rows;
  size_t finished = 0;
  for (const auto& section : lesson_sections()) {
    if (!selected(a, section.name)) continue;
    const auto config = section_config(section, a);
    SessionOptions options;
    options.out = fs::path(a.out) / section.name;
    // --shards 1 is the plain step: PyTorch's, bit for bit, layers included.
    options.plain = a.plain || a.shards == 1;
    options.stop_signal = &g_stop_signal;
    options.in_fit = &g_in_fit;
    fmt::print("== {} ==\n", section.name);
    std::fflush(stdout);
    const auto run = run_section(config, options, a);
    if (!run.result.completed) return report_lesson_stop(section, run, options.out, finished);
    if (run.result.already_finished) note(fmt::format("charnn: {} is finished; kept\n", options.out.string()));
    add_rows(rows, section, config, run, options.out);
    ++finished;
  }
  const auto table = markdown(rows, a.quick);
  fmt::print("\n{}", table);
  write_file_atomically(fs::path(a.out) / "lesson.md", table);
  write_file_atomically(fs::path(a.out) / "lesson.csv", csv(rows));
  if (!a.quick) {
    const auto ok = std::count_if(rows.begin(), rows.end(), within_band);
    fmt::print("{} of {} fit calls within ±{} of the notebook\n", ok, rows.size(), kLessonTolerance);
  }
  if (const int sig = g_stop_signal.load(); sig != 0) {
    note(fmt::format("charnn: signal {} arrived after the last batch; the lesson is complete in {}\n", sig, a.out));
    return 128 + sig;
  }
  return 0;
}

}  // namespace charnn::cli
