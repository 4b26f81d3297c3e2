#include "train/observers.h"

#include <fmt/format.h>
#include <unistd.h>

#include "common/console.h"
#include "train/report.h"

namespace charnn {
namespace {

// Progress is for the eyes only: a stderr that cannot take it must not stop the run.
template <typename... Args>
void note_to(std::FILE* to, fmt::format_string<Args...> format, Args&&... args) {
  note(fmt::format(format, std::forward<Args>(args)...), to);
}

std::string clock(double seconds) {
  const auto s = static_cast<int64_t>(seconds + 0.5);
  return s >= 3600 ? fmt::format("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
                   : fmt::format("{:02}:{:02}", s / 60, s % 60);
}

}  // namespace

void EpochRowPrinter::on_epoch_end(const EpochRow& row, const FitState& /*state*/) {
  fmt::print(out_, "{}\n", format_epoch_row(row));
  std::fflush(out_);
}

ProgressObserver::ProgressObserver(std::string label, int64_t window_rows_per_batch, std::FILE* progress_out)
    : label_(std::move(label)),
      rows_per_batch_(window_rows_per_batch),
      progress_out_(progress_out),
      tty_(::isatty(::fileno(progress_out)) != 0) {}

void ProgressObserver::on_fit_begin(const FitState& state, int64_t epochs, int64_t batches_per_epoch) {
  start_ = last_draw_ = std::chrono::steady_clock::now();
  start_batches_ = state.batches_seen;
  note_to(progress_out_, "{}: {} epoch(s) of {} batches\n", label_, epochs, batches_per_epoch);
  std::fflush(progress_out_);
}

void ProgressObserver::on_batch_end(const BatchEvent& e) {
  const auto now = std::chrono::steady_clock::now();
  // A terminal gets a bar redrawn ~10 times a second; a pipe or log gets a line every 10 s.
  const auto period = tty_ ? std::chrono::milliseconds(100) : std::chrono::milliseconds(10000);
  const bool epoch_done = e.state.batch == e.batches_per_epoch;
  if (now - last_draw_ < period && !(tty_ && epoch_done)) return;
  last_draw_ = now;
  draw(e, epoch_done);
}

void ProgressObserver::draw(const BatchEvent& e, bool final_line) {
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const int64_t done = e.state.batches_seen - start_batches_;
  const int64_t total_left = (e.epochs - e.state.epoch) * e.batches_per_epoch - e.state.batch;
  const double per_batch = done > 0 ? elapsed / static_cast<double>(done) : 0.0;
  const double windows_per_s = per_batch > 0 ? static_cast<double>(rows_per_batch_) / per_batch : 0.0;
  const auto text = fmt::format("epoch {}/{} {:>5}/{} loss {:.4f} {:.0f} windows/s ETA {}", e.state.epoch + 1,
                                e.epochs, e.state.batch, e.batches_per_epoch, e.state.smoothed(),
                                windows_per_s, clock(per_batch * static_cast<double>(total_left)));
  if (tty_) {
    constexpr int kWidth = 24;
    const auto filled = static_cast<int>(kWidth * e.state.batch / std::max<int64_t>(e.batches_per_epoch, 1));
    note_to(progress_out_, "\r[{:=<{}}{:<{}}] {}\033[K{}", "", filled, "", kWidth - filled, text,
               final_line ? "\n" : "");
  } else {
    note_to(progress_out_, "{}\n", text);
  }
  std::fflush(progress_out_);
}

}  // namespace charnn
