#include "train/io/metrics.h"

#include <fmt/format.h>

#include <cinttypes>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <sstream>

#include "common/error.h"
#include "common/file.h"
#include "train/io/atomic_file.h"

namespace charnn {
namespace {

namespace fs = std::filesystem;

// Rows of a metrics CSV after the first `keep` data rows, or whose `step` column exceeds
// `max_step`, were written after the checkpoint (a SIGKILL lands between two checkpoints);
// the resumed run writes those steps again, so they are dropped first.
void drop_rows_after(const fs::path& path, size_t step_column, int64_t max_step, int64_t keep) {
  std::error_code ec;
  if (!fs::exists(path, ec)) return;
  std::istringstream in(read_whole_file(path, "a metrics CSV"));
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

}  // namespace


MetricsWriter::CsvFile MetricsWriter::open_csv(const std::filesystem::path& path, const char* header) {
  CsvFile f{path, std::filesystem::exists(path) ? read_whole_file(path, "a metrics CSV") : std::string(header)};
  return f;
}

MetricsWriter::MetricsWriter(const std::filesystem::path& dir, int64_t every, int64_t fit_index, double lr,
                             int64_t step_offset)
    : batches_(open_csv(dir / kBatchesFile, "fit,lr,epoch,batch,step,loss,smoothed_loss\n")),
      epochs_(open_csv(dir / kEpochsFile, "fit,lr,epoch,step,trn_loss,val_loss\n")),
      every_(every),
      fit_index_(fit_index),
      lr_(lr),
      step_offset_(step_offset) {}

void MetricsWriter::on_batch_end(const BatchEvent& e) {
  lr_ = e.lr;
  if (every_ <= 0 || e.state.batches_seen % every_ != 0) return;
  batches_.text += fmt::format("{},{},{},{},{},{:.6f},{:.6f}\n", fit_index_, lr_, e.state.epoch, e.state.batch,
                               step_offset_ + e.state.batches_seen, e.loss, e.state.smoothed());
  write_file_atomically(batches_.path, batches_.text);
}

void MetricsWriter::on_epoch_end(const EpochRow& row, const FitState& state) {
  epochs_.text += fmt::format("{},{},{},{},{},{}\n", fit_index_, lr_, row.epoch, step_offset_ + state.batches_seen,
                              row.trn_loss, row.val_loss);
  write_file_atomically(epochs_.path, epochs_.text);
}

void drop_metrics_after(const fs::path& dir, int64_t step, int64_t epoch_rows) {
  drop_rows_after(dir / MetricsWriter::kBatchesFile, 4, step, INT64_MAX);
  drop_rows_after(dir / MetricsWriter::kEpochsFile, 3, INT64_MAX, epoch_rows);
}

std::vector<EpochsCsvRow> read_epochs_csv(const fs::path& dir) {
  const auto path = dir / MetricsWriter::kEpochsFile;
  std::istringstream in(read_whole_file(path, "a metrics CSV"));
  std::vector<EpochsCsvRow> rows;
  std::string line;
  std::getline(in, line);  // the header
  while (std::getline(in, line)) {
    EpochsCsvRow r{};
    char tail = 0;
    if (std::sscanf(line.c_str(), "%" SCNd64 ",%lf,%" SCNd64 ",%" SCNd64 ",%lf,%lf%c", &r.fit, &r.lr, &r.row.epoch,
                    &r.step, &r.row.trn_loss, &r.row.val_loss, &tail) != 6) {
      throw InputError(fmt::format("{}: row {} is not fit,lr,epoch,step,trn_loss,val_loss: '{}'", path.string(),
                                   rows.size() + 1, line));
    }
    rows.push_back(r);
  }
  return rows;
}

}  // namespace charnn
