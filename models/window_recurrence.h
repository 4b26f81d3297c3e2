#pragma once
// What fast generation (train/generate/window_chains.h) needs from a model that predicts the
// next character by running a recurrence over a window of characters from a zero state: the
// recurrence written down as data. Each such model describes its own recurrence in its own
// files, so generation runs any of them without knowing their classes.
//
// For every character c of the window, the state h ([n_hidden]) passes through the layers in
// order; a layer computes
//     out = activation( (in + char_term[c] if BeforeProduct) W^T  +  (char_term[c] if AfterProduct, else bias) )
// where `in` is h for the first layer and the previous layer's output after it; the last
// layer's output is the new h. After the window, log_softmax(h out_weight^T + out_bias) is the
// prediction.
#include <torch/torch.h>

#include <vector>

namespace charnn {

struct RecurrenceLayer {
  enum class CharTerm { None, BeforeProduct, AfterProduct };
  enum class Activation { Tanh, Relu };
  torch::Tensor weight;  // [n_hidden, n_hidden], as nn.Linear stores it: [out, in]
  torch::Tensor bias;    // [n_hidden]; unused with CharTerm::AfterProduct (fold it into char_term)
  CharTerm char_term = CharTerm::None;
  Activation activation = Activation::Tanh;
};

struct WindowRecurrence {
  torch::Tensor char_term;  // [vocab, n_hidden]: what each character brings to the layer that reads it
  std::vector<RecurrenceLayer> layers;
  torch::Tensor out_weight, out_bias;  // l_out
};

}  // namespace charnn
