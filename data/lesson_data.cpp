#include "data/lesson_data.h"

#include "data/split.h"

namespace charnn {

Corpus truncate_corpus(Corpus corpus, int64_t max_chars) {
  if (max_chars <= 0 || max_chars >= corpus.length()) return corpus;
  corpus.text.resize(static_cast<size_t>(max_chars));
  corpus.vocab = Vocab::from_text(corpus.text);
  corpus.idx = corpus.vocab.encode(corpus.text);
  return corpus;
}

ModelData lesson_data(const Corpus& corpus, Layout layout, int64_t cs, int64_t bs, uint64_t seed) {
  const auto windows = make_windows(corpus, layout, cs);
  return from_arrays(lesson_val_idxs(layout, windows.rows(), cs), windows, bs, seed);
}

}  // namespace charnn
