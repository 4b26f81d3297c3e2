#pragma once
// The notebook's data cell for the first half of the lesson, written once: the corpus cut to
// the characters a run uses, the section's windows, its validation rows, and the loaders
// (lesson6.py's `lesson_data` is the same step in Python). The run, the tests and the bench
// all take their data from here.
#include <torch/torch.h>

#include <cstdint>
#include <filesystem>

#include "data/corpus.h"
#include "data/layouts.h"
#include "data/loader.h"

namespace charnn {

// The first max_chars characters of corpus (all of it for max_chars <= 0 or beyond its
// length), with chars, char_indices and idx rebuilt from what is left, as the notebook's
// cells would compute them on the shorter text.
Corpus truncate_corpus(Corpus corpus, int64_t max_chars);

// The text a run trains on: the file whole, or with max_chars > 0 its first max_chars
// characters, reading only a bounded prefix (a character is at most 4 bytes), so a huge file
// costs no more memory than the part trained on.
Corpus load_training_text(const std::filesystem::path& path, int64_t max_chars);

// windows of `cs` characters in the layout -> the validation rows that section of the
// notebook used (split.h's lesson_val_idxs) -> ColumnarModelData.from_arrays(bs), whose
// training order follows `seed`.
ModelData lesson_data(const Corpus& corpus, Layout layout, int64_t cs, int64_t bs = 512, uint64_t seed = 0);

}  // namespace charnn
