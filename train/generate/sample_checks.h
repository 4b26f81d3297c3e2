#pragma once
// What both ways of generating refuse, worded alike: a prompt character to name in an error,
// and scores a sample cannot be drawn from.
#include <torch/torch.h>

#include <string>
#include <string_view>

#include "train/generate/generate.h"

namespace charnn::generate_detail {

// A control character (a newline, say) would break the one-line error; shown escaped.
std::string printable(char32_t c);

// Throws InputError naming every distinct character of `missing` at once, so one retry is
// enough to fix the prompt; `where` ends the sentence ("the checkpoint's vocabulary").
void refuse_missing(std::u32string_view missing, std::string_view where);

// NaN weights, or a temperature so small that logits / T overflows, leave nothing to sample
// from: an InputError naming --temperature or model.pt.
void check_finite(const torch::Tensor& scores, const SampleOptions& options);

}  // namespace charnn::generate_detail
