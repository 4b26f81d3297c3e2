#pragma once
// What a training run shows and records while fit() runs: a progress bar (or plain
// periodic lines when stderr is not a terminal), the epoch rows, and a metrics file.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>

#include "train/fit.h"

namespace charnn {

class ProgressObserver : public FitObserver {
 public:
  // `label` names the fit call, e.g. "fit 1/2 lr=0.001"; rows go to `rows_out`.
  ProgressObserver(std::string label, int64_t window_rows_per_batch, std::FILE* rows_out = stdout,
                   std::FILE* progress_out = stderr);
  void on_fit_begin(const FitState& state, int64_t epochs, int64_t batches_per_epoch) override;
  void on_batch_end(const BatchEvent& event) override;
  void on_epoch_end(const EpochRow& row, const FitState& state) override;

 private:
  void draw(const BatchEvent& event, bool final_line);

  std::string label_;
  int64_t rows_per_batch_;
  std::FILE* rows_out_;
  std::FILE* progress_out_;
  bool tty_;
  std::chrono::steady_clock::time_point start_, last_draw_;
  int64_t start_batches_ = 0;
};

// Two CSV files in the run directory: batches.csv (every `every` batches) and epochs.csv
// (one row per epoch, the notebook's rows). Each is rewritten atomically whenever it
// grows, so a crash leaves the last complete version; a resumed run continues them.
class MetricsWriter : public FitObserver {
 public:
  MetricsWriter(const std::filesystem::path& dir, int64_t every, int64_t fit_index, double lr,
                int64_t step_offset);
  void on_batch_end(const BatchEvent& event) override;
  void on_epoch_end(const EpochRow& row, const FitState& state) override;

  static constexpr const char* kBatchesFile = "batches.csv";
  static constexpr const char* kEpochsFile = "epochs.csv";

 private:
  struct CsvFile {
    std::filesystem::path path;
    std::string text;
  };
  static CsvFile open_csv(const std::filesystem::path& path, const char* header);

  CsvFile batches_;
  CsvFile epochs_;
  int64_t every_;
  int64_t fit_index_;
  double lr_;
  int64_t step_offset_;  // steps of the earlier fit calls, so `step` counts the whole run
};

}  // namespace charnn
