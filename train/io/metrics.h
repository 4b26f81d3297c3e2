#pragma once
// The run directory's metrics, written while fit() runs.
#include <filesystem>
#include <string>

#include "train/fit.h"

namespace charnn {

// Two CSV files in the run directory: batches.csv (every `every` batches) and epochs.csv
// (one row per epoch, the notebook's rows). Each is rewritten atomically whenever it
// grows, so a crash leaves the last complete version; a resumed run continues them. The lr
// column holds the rate the batch trained at (epochs.csv: the epoch's last batch's), so
// CosAnneal's schedule is in the file. epochs.csv's losses are written in full (the shortest
// text that reads back as the same double), so a table made from the file later prints the
// digits the run printed.
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
  double lr_;  // the last batch's rate (the call's starting rate until one trains)
  int64_t step_offset_;  // steps of the earlier fit calls, so `step` counts the whole run
};

// After a SIGKILL between two checkpoints the CSVs hold rows the resumed run will write
// again: keeps batches.csv's rows up to `step` and epochs.csv's first `epoch_rows` rows.
void drop_metrics_after(const std::filesystem::path& dir, int64_t step, int64_t epoch_rows);

// epochs.csv's rows: each fit call's epochs in order.
struct EpochsCsvRow {
  int64_t fit;
  double lr;
  EpochRow row;
  int64_t step;
};
// Throws InputError naming the file on a row it cannot read.
std::vector<EpochsCsvRow> read_epochs_csv(const std::filesystem::path& dir);

}  // namespace charnn
