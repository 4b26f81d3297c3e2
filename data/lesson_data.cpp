#include "data/lesson_data.h"

#include "common/file.h"
#include "data/split.h"

namespace charnn {

namespace {

// A UTF-8 prefix cut at a byte count may end inside a character: drop that partial one.
std::string_view whole_characters(std::string_view bytes) {
  size_t end = bytes.size(), back = 0;
  while (back < 4 && end > back && (static_cast<unsigned char>(bytes[end - 1 - back]) & 0xC0) == 0x80) ++back;
  if (end > back) {
    const auto lead = static_cast<unsigned char>(bytes[end - 1 - back]);
    const size_t len = lead < 0x80 ? 1 : lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
    if (len > back + 1) end -= back + 1;
  }
  return bytes.substr(0, end);
}

}  // namespace

Corpus load_training_text(const std::filesystem::path& path, int64_t max_chars) {
  if (max_chars <= 0) return load_corpus(path);
  const auto limit = static_cast<uint64_t>(max_chars) * 4;
  const auto bytes = read_file_prefix(path, "a UTF-8 text file", limit);
  const auto whole = bytes.size() == limit ? whole_characters(bytes) : std::string_view(bytes);
  return truncate_corpus(corpus_from_utf8(whole, path.string()), max_chars);
}

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
