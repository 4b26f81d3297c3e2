#pragma once
// Generation without recomputing every window one character at a time.
//
// The notebook's get_next runs the model on the last `window` characters from a zero hidden
// state, so each new character costs `window` recurrence steps of batch 1, each a matrix
// product too thin for the BLAS to run well, plus a dozen tensor ops. But the windows that
// will make the next `window` predictions overlap: each is a chain of the recurrence that
// started at a later character, and all of them consume the same new character. Keeping
// those chains as the rows of one [window, n_hidden] state advances them all with one
// few-row product per character (train/generate/row_kernels.h), with every character's input term
// computed once. Each chain computes what get_next computes for its window, from the same
// weights; only the order of floating-point sums differs (tests/test_window_chains.cpp
// bounds it). Runs on the CPU whatever device the model is on.
#include <torch/torch.h>

#include <cstdint>
#include <vector>

#include "models/window_recurrence.h"

namespace charnn {

class WindowChains {
 public:
  // Copies the recurrence's weights; later changes to the model are not seen. Throws
  // std::invalid_argument for a window < 1 or a recurrence whose shapes do not fit together.
  WindowChains(const WindowRecurrence& recurrence, int64_t window);

  // Starts from a window of character indices (exactly `window` of them) and returns the
  // log-probabilities of the character after it, [vocab] on the CPU. The tensor is the
  // chains' own buffer, overwritten by the next start or push (clone it to keep it): a
  // character of generation costs microseconds, and an allocation per character a share of it.
  torch::Tensor start(const std::vector<int64_t>& window_chars);
  // Appends character c to the text; returns the log-probabilities of the one after it (the
  // same buffer).
  torch::Tensor push(int64_t c);

 private:
  struct Layer {
    torch::Tensor w_t;  // [n_hidden, n_hidden]: the layer's weight, transposed for rows_affine
    torch::Tensor bias;
    RecurrenceLayer::CharTerm char_term;
    RecurrenceLayer::Activation activation;
  };
  void step(int64_t rows, int64_t c);  // the first `rows` chains consume character c
  torch::Tensor finish_oldest();

  int64_t window_, n_hidden_, vocab_;
  torch::Tensor char_term_;  // [vocab, n_hidden]: what each character brings, computed once
  std::vector<Layer> layers_;
  torch::Tensor w_out_t_, b_out_;
  torch::Tensor log_probs_;           // [vocab]: what start and push return
  torch::Tensor h_;                   // [window, n_hidden]: one chain per row
  std::vector<torch::Tensor> scratch_;  // one [window, n_hidden] output per layer but the last
  int64_t oldest_ = 0;                // the row that has consumed the most characters
};

}  // namespace charnn
