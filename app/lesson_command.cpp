// `charnn lesson`: every section of the notebook, its schedule, and our losses beside the
// notebook's printed ones.
#include <fmt/format.h>

#include <cmath>
#include <filesystem>

#include "app/commands.h"
#include "common/limits.h"
#include "train/io/atomic_file.h"
#include "train/run/lesson.h"
#include "train/run/session.h"

namespace charnn::cli {
namespace {

constexpr int64_t kQuickChars = 30000;  // enough for every layout to have a few batches
constexpr int64_t kQuickEpochs = 1;     // per fit call: the LSTM's 80 epochs would take minutes even there

struct TableRow {
  std::string section;
  int64_t fit;
  FitCall call;
  EpochRow ours;
  NotebookLoss notebook;
  double seconds;
};

std::string diff_text(double ours, std::optional<double> theirs) {
  return theirs ? fmt::format("{:+.3f}", ours - *theirs) : "n/a";
}

bool within_band(const TableRow& r) {
  const bool trn_ok = std::abs(r.ours.trn_loss - r.notebook.trn) <= kLessonTolerance;
  return trn_ok && (!r.notebook.val || std::abs(r.ours.val_loss - *r.notebook.val) <= kLessonTolerance);
}

std::string markdown(const std::vector<TableRow>& rows, bool quick) {
  std::string md = fmt::format(
      "| model | fit call | ours trn | ours val | notebook trn | notebook val | Δ trn | Δ val | within ±{} | wall s |\n"
      "|---|---|---|---|---|---|---|---|---|---|\n",
      kLessonTolerance);
  for (const auto& r : rows) {
    md += fmt::format("| {} | {} ({}) | {:.5f} | {:.5f} | {:.5f} | {} | {} | {} | {} | {:.1f} |\n", r.section, r.fit,
                      describe(r.call), r.ours.trn_loss, r.ours.val_loss, r.notebook.trn,
                      r.notebook.val ? fmt::format("{:.5f}", *r.notebook.val) : "(one row)",
                      diff_text(r.ours.trn_loss, r.notebook.trn), diff_text(r.ours.val_loss, r.notebook.val),
                      quick ? "(quick)" : (within_band(r) ? "yes" : "NO"), r.seconds);
  }
  return md;
}

std::string csv(const std::vector<TableRow>& rows) {
  std::string out = "model,fit,call,trn_loss,val_loss,notebook_trn,notebook_val,seconds\n";
  for (const auto& r : rows) {
    out += fmt::format("{},{},{},{:.6f},{:.6f},{},{},{:.2f}\n", r.section, r.fit, describe(r.call),
                       r.ours.trn_loss, r.ours.val_loss, r.notebook.trn,
                       r.notebook.val ? fmt::format("{}", *r.notebook.val) : "", r.seconds);
  }
  return out;
}

bool selected(const LessonArgs& a, const std::string& name) {
  return a.only.empty() || std::find(a.only.begin(), a.only.end(), name) != a.only.end();
}

}  // namespace

int run_lesson(const LessonArgs& a) {
  check_shards(a.shards);
  for (const auto& name : a.only) {
    bool known = false;
    for (const auto& s : lesson_sections()) known = known || s.name == name;
    if (!known) throw InputError(fmt::format("--only {}: no such lesson section", name));
  }
  std::vector<TableRow> rows;
  for (const auto& section : lesson_sections()) {
    if (!selected(a, section.name)) continue;
    RunConfig config;
    config.model = section.model;
    config.schedule = section.schedule;
    if (a.quick) {
      for (auto& call : config.schedule) call.epochs = std::min(call.epochs, kQuickEpochs);
    }
    config.bs = section.bs;
    config.wd = section.wd;
    config.seed = a.seed;
    config.text = resolve_text(a.text);
    config.max_chars = a.quick ? kQuickChars : 0;
    config.shards = a.shards;
    SessionOptions options;
    options.out = std::filesystem::path(a.out) / section.name;
    options.stop_signal = &g_stop_signal;
    options.in_fit = &g_in_fit;
    fmt::print("== {} ==\n", section.name);
    const auto result = train_run(config, options);
    if (!result.completed) return 128 + g_stop_signal.load();
    for (size_t i = 0; i < result.fits.size(); ++i) {
      const auto& f = result.fits[i];
      rows.push_back({section.name, static_cast<int64_t>(i + 1), f.call, f.rows.back(), section.notebook[i], f.seconds});
    }
  }
  const auto table = markdown(rows, a.quick);
  fmt::print("\n{}", table);
  write_file_atomically(std::filesystem::path(a.out) / "lesson.md", table);
  write_file_atomically(std::filesystem::path(a.out) / "lesson.csv", csv(rows));
  if (!a.quick) {
    const auto ok = std::count_if(rows.begin(), rows.end(), within_band);
    fmt::print("{} of {} fit calls within ±{} of the notebook\n", ok, rows.size(), kLessonTolerance);
  }
  return 0;
}

}  // namespace charnn::cli
