#pragma once
// The notebook's get_next / get_next_n: feed the last `window` characters, take the
// prediction for the next one, slide the window. Greedy (np.argmax) or sampled from
// the softmax at a temperature.
#include <torch/torch.h>

#include <functional>
#include <optional>
#include <string>

#include "data/corpus.h"
#include "models/registry.h"

namespace charnn {

struct SampleOptions {
  int64_t n = 400;                       // characters to add
  std::optional<double> temperature;     // unset: greedy
  uint64_t seed = 0;
  // Run the model's forward on every window, as the notebook's get_next does, instead of
  // train/generate/window_chains.h's one product per character. Same characters; much slower.
  bool recompute_windows = false;
};

// Throws InputError when the prompt is empty, shorter than the model's window, or holds a
// character the vocabulary lacks (named, with its code point). Returns the prompt and the
// options.n characters that follow it.
std::u32string get_next_n(LessonModel& model, const Vocab& vocab, int64_t window, std::u32string_view prompt,
                          const SampleOptions& options);

// The same characters, handed to `emit` one by one as they are chosen (the prompt is not
// repeated), so a caller can stream them instead of holding all n.
void generate(LessonModel& model, const Vocab& vocab, int64_t window, std::u32string_view prompt,
              const SampleOptions& options, const std::function<void(char32_t)>& emit);

}  // namespace charnn
