// libFuzzer target: the corpus reader (strict UTF-8 decoding, the vocabulary, idx).
// Any input either becomes a Corpus that round-trips exactly, or throws InputError.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "data/corpus.h"

namespace {

// libFuzzer reports a crash; a plain assert would vanish under NDEBUG.
void require(bool ok) {
  if (!ok) __builtin_trap();
}

void check_invariants(std::string_view bytes, const charnn::Corpus& c) {
  // Strict decoding accepts only the shortest form, so re-encoding gives the input back.
  require(charnn::encode_utf8(c.text) == bytes);
  // The notebook's vocabulary: "\0" first, then the text's characters sorted and distinct.
  const auto& chars = c.vocab.chars();
  require(!chars.empty() && chars[0] == U'\0');
  for (size_t i = 2; i < chars.size(); ++i) require(chars[i - 1] < chars[i]);
  // idx indexes the vocabulary and decodes back to the text.
  require(c.idx.numel() == c.length());
  require(c.vocab.decode(c.idx) == c.text);
  for (char32_t ch : c.text) require(c.vocab.char_at(c.vocab.index_of(ch)) == ch);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  try {
    check_invariants(bytes, charnn::corpus_from_utf8(bytes, "fuzz"));
  } catch (const charnn::InputError&) {
    // Rejected with a message: the expected outcome for most inputs. It must also be what
    // decode_utf8 alone says (the empty text aside, which decodes but is no corpus).
    if (!bytes.empty()) {
      try {
        charnn::decode_utf8(bytes, "fuzz");
        require(false);
      } catch (const charnn::InputError&) {
      }
    }
  }
  return 0;
}
