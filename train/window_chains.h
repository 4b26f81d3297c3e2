#pragma once
// Generation without recomputing every window one character at a time.
//
// The notebook's get_next runs the model on the last `window` characters from a zero hidden
// state, so each new character costs `window` recurrence steps of batch 1, each a matrix
// product too thin for the BLAS to run well, plus a dozen tensor ops. But the windows that
// will make the next `window` predictions overlap: each is a chain of the recurrence that
// started at a later character, and all of them consume the same new character. Keeping
// those chains as the rows of one [window, n_hidden] state advances them all with one
// few-row product per character (train/row_kernels.h), with every character's input term
// computed once. Each chain computes what get_next computes for its window, from the same
// weights; only the order of floating-point sums differs (tests/test_window_chains.cpp
// bounds it). Runs on the CPU whatever device the model is on.
#include <torch/torch.h>

#include <cstdint>
#include <vector>

#include "models/registry.h"

namespace charnn {

class WindowChains {
 public:
  // Copies the weights it needs; later changes to the model are not seen. Throws
  // std::invalid_argument for a model it does not know how to step, or a window < 1.
  WindowChains(LessonModel& model, int64_t window);

  // Starts from a window of character indices (exactly `window` of them) and returns the
  // log-probabilities of the character after it, [vocab] on the CPU.
  torch::Tensor start(const std::vector<int64_t>& window_chars);
  // Appends character c to the text; returns the log-probabilities of the one after it.
  torch::Tensor push(int64_t c);

 private:
  enum class Cell {
    Rnn,           // CharRnn, CharSeqRnn: h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh)
    AddedInput,    // Char3Model, CharLoopModel: h' = tanh(l_hidden(h + relu(l_in(e(c)))))
    ConcatInput,   // CharLoopConcatModel: h' = tanh(l_hidden(relu(l_in(cat(h, e(c))))))
  };
  void step(int64_t rows, int64_t c);  // the first `rows` chains consume character c
  torch::Tensor finish_oldest();

  Cell cell_;
  int64_t window_, n_hidden_, vocab_;
  torch::Tensor char_term_;  // [vocab, n_hidden]: what each character adds, computed once
  torch::Tensor w_h_t_;      // [n_hidden, n_hidden]: the weight that multiplies h, transposed
  torch::Tensor w_t_, b_;    // ConcatInput's l_hidden (transposed) and AddedInput's / its bias
  torch::Tensor w_out_t_, b_out_;
  torch::Tensor h_, pre_, mid_;  // [window, n_hidden]: one chain per row, and scratch
  int64_t oldest_ = 0;           // the row that has consumed the most characters
};

}  // namespace charnn
