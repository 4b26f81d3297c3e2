#include "train/generate/sample_checks.h"

#include <fmt/format.h>

#include <cmath>
#include <stdexcept>

#include "common/error.h"
#include "data/corpus.h"

namespace charnn::generate_detail {

std::string printable(char32_t c) {
  if (c == U'\n') return "\\n";
  if (c == U'\t') return "\\t";
  if (c < 0x20 || c == 0x7F) return fmt::format("\\x{:02x}", static_cast<uint32_t>(c));
  return encode_utf8(c);
}

void refuse_missing(std::u32string_view missing, std::string_view where) {
  if (missing.empty()) return;
  std::string names;
  for (char32_t c : missing) {
    names += fmt::format("{}'{}' (U+{:04X})", names.empty() ? "" : ", ", printable(c), static_cast<uint32_t>(c));
  }
  throw InputError(fmt::format("prompt: {} {} not in {}: {}", missing.size(),
                               missing.size() == 1 ? "character is" : "characters are", where, names));
}

namespace {

[[noreturn]] void refuse_non_finite(const SampleOptions& options) {
  if (options.temperature) {
    throw InputError(fmt::format("--temperature {}: the checkpoint's probabilities are not finite at this "
                                 "temperature (a larger one, or NaN weights in model.pt)",
                                 *options.temperature));
  }
  throw InputError("model.pt: the checkpoint gives non-finite scores (NaN or infinite weights)");
}

}  // namespace

void check_finite(const torch::Tensor& scores, const SampleOptions& options) {
  if (!torch::isfinite(scores).all().item<bool>()) refuse_non_finite(options);
}

int64_t greedy_choice(const torch::Tensor& scores, int64_t reserved, const SampleOptions& options) {
  const float* s = scores.data_ptr<float>();
  const int64_t n = scores.numel();
  if (reserved >= n) throw std::invalid_argument("greedy_choice: every score is a reserved token's");
  int64_t best = reserved;
  for (int64_t i = reserved; i < n; ++i) {
    if (!std::isfinite(s[i])) refuse_non_finite(options);
    if (s[i] > s[best]) best = i;
  }
  return best;
}

}  // namespace charnn::generate_detail
