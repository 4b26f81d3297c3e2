#pragma once
// A measured proposal, not used by the CLI: greedy generation for CharRnn without LibTorch's
// per-op dispatch. get_next_n runs ~20 tensor ops per character, each a few microseconds of
// dispatch, and every batch-1 product goes through sgemm, which packs the whole weight
// matrix first (39 us for [1,256]x[256,256] against 11 us as a matrix-vector product).
// Here one character costs 8 sgemv calls on weights read once (OpenBLAS on one thread for
// the duration), plus a table lookup for the input projection.
#include <string>

#include "data/corpus.h"
#include "models/char_rnn.h"

namespace charnn::bench {

// The notebook's get_next_n for CharRnn, greedy: each character re-reads the last `window`
// characters from h0 = 0. Float rounding differs from LibTorch's order of operations, so a
// near-tie could pick another character; the bench reports whether the text matched.
std::u32string fast_greedy_char_rnn(CharRnnImpl& model, const Vocab& vocab, int64_t window,
                                    std::u32string_view prompt, int64_t n);

}  // namespace charnn::bench
