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

// Greedy choice without a tensor op (a character of generation costs a few microseconds, an
// ATen op about one): the index of the largest of scores[reserved..] (the first of equals, as
// torch.argmax and np.argmax pick), after check_finite's test of those same entries. The
// entries below `reserved` are the vocabulary's never-emitted tokens. `scores` is a
// contiguous float tensor on the CPU.
int64_t greedy_choice(const torch::Tensor& scores, int64_t reserved, const SampleOptions& options);

}  // namespace charnn::generate_detail
