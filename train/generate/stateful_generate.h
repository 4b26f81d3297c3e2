#pragma once
// The notebook's get_next / get_next_n for the stateful models (CharSeqStateful*, test cells of
// "Stateful model" and after). The prompt is numericalised by the run's torchtext vocabulary
// and fed as a (len, 1) batch; the next token comes from the last row of p = m(x). Unlike the
// windowed models' get_next, the hidden state carries from call to call: the first call starts
// it for a batch of 1 (the notebook's state was sized for bs 64, so forward re-inits it), and
// every later window is read on top of what the previous one left. The window keeps the
// prompt's length and slides one token per call, as the notebook's get_next_n slides `inp`.
//
// Two choices where the notebook is silent or would misbehave:
// - The prompt is lower-cased character by character (Python's str.lower, the Field's
//   preprocess), so it reads as the training text did; the notebook's TEXT.numericalize would
//   have looked up an upper-case letter as-is and fed <unk>. The text returned keeps the prompt
//   as given. A character whose token is not in the vocabulary is an error, not <unk>.
// - <unk> and <pad> (indices 0 and 1) are never drawn: their log-probabilities are set to -inf
//   before the argmax or the draw. The notebook would have printed the five characters
//   "<unk>"; for multinomial, whose draw is argmax(p / q) over one exponential q per entry,
//   this changes the token only where the notebook's would have been 0 or 1.
#include <torch/torch.h>

#include <functional>
#include <string>
#include <string_view>

#include "data/text_field.h"
#include "models/registry.h"
#include "train/generate/generate.h"

namespace charnn {

// One call of the notebook's get_next: inp ([len] token indices) as a (len, 1) batch on top of
// m's carried state (left for the next call). Returns the index drawn from the last row's
// log-probabilities: greedy when options.temperature is unset, else multinomial over
// p[-1].exp() at temperature 1 (the notebook's), softmax(p[-1] / T) at another T.
int64_t get_next(StatefulModel& m, const torch::Tensor& inp, const SampleOptions& options, at::Generator& gen);

// The notebook's get_next_n: the prompt (as given) and the options.n tokens that follow it.
// Throws InputError for an empty prompt, a character outside TEXT's vocabulary (every one
// named, with its code point), or a temperature that is not > 0. `model` must be stateful.
// The model's state and train/eval mode are restored afterwards.
std::string get_next_n(LessonModel& model, const torchtext::Field& TEXT, std::u32string_view prompt,
                       const SampleOptions& options);

// The same tokens, handed to `emit` one by one as they are drawn (the prompt not repeated).
void generate(LessonModel& model, const torchtext::Field& TEXT, std::u32string_view prompt,
              const SampleOptions& options, const std::function<void(const std::string&)>& emit);

}  // namespace charnn
