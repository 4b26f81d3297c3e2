#include "train/report.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace charnn {
namespace {

// numpy's legacy fixed-point repr for one value: 5 decimals, trailing zeros blanked.
std::string numpy_fixed(double v) {
  auto s = fmt::format("{:.5f}", std::round(v * 1e6) / 1e6);
  const auto dot = s.find('.');
  auto last = s.find_last_not_of('0');
  if (last == dot) return s.substr(0, dot + 1) + std::string(s.size() - dot - 1, ' ');
  return s.substr(0, last + 1) + std::string(s.size() - last - 1, ' ');
}

}  // namespace

std::string format_epoch_row(const EpochRow& row) {
  std::vector<std::string> cells{numpy_fixed(static_cast<double>(row.epoch)), numpy_fixed(row.trn_loss),
                                 numpy_fixed(row.val_loss)};
  size_t width = 0;
  for (const auto& c : cells) width = std::max(width, c.size());
  std::string out = "[";
  for (size_t i = 0; i < cells.size(); ++i) {
    out += fmt::format("{}{:>{}}", i == 0 ? "" : " ", cells[i], width + 1);
  }
  return out + "]";
}

}  // namespace charnn
