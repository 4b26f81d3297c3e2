#pragma once
// What a training run shows and records while fit() runs: a progress bar (or plain
// periodic lines when stderr is not a terminal), the epoch rows, and a metrics file.
#include <atomic>
#include <chrono>
#include <cstdio>
#include <string>

#include "train/fit.h"

namespace charnn {

// The notebook's epoch rows, as fastai printed them (train/report.h).
class EpochRowPrinter : public FitObserver {
 public:
  explicit EpochRowPrinter(std::FILE* out = stdout) : out_(out) {}
  void on_epoch_end(const EpochRow& row, const FitState& state) override;

 private:
  std::FILE* out_;
};

class ProgressObserver : public FitObserver {
 public:
  // `label` names the fit call, e.g. "fit 1/2 lr=0.001".
  ProgressObserver(std::string label, int64_t window_rows_per_batch, std::FILE* progress_out = stderr);
  void on_fit_begin(const FitState& state, int64_t epochs, int64_t batches_per_epoch) override;
  void on_batch_end(const BatchEvent& event) override;

 private:
  void draw(const BatchEvent& event, bool final_line);

  std::string label_;
  int64_t rows_per_batch_;
  std::FILE* progress_out_;
  bool tty_;
  std::chrono::steady_clock::time_point start_, last_draw_;
  int64_t start_batches_ = 0;
};

// Asks fit() to stop at the next batch boundary once the flag (set by a signal handler) is
// non-zero.
class StopOnFlag : public FitObserver {
 public:
  explicit StopOnFlag(const std::atomic<int>* flag) : flag_(flag) {}
  bool stop_requested() override { return flag_ != nullptr && flag_->load() != 0; }

 private:
  const std::atomic<int>* flag_;
};

}  // namespace charnn
