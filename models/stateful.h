#pragma once
// The second half of lesson 6 (CharSeqStateful*): models that keep their hidden state between
// calls. This header is what the trainer and generation need to drive any of the four without
// knowing its class: fastai's fit only ever calls model(x), and the notebook's get_next calls
// the same forward on (8, 1) windows, relying on the state to carry over between calls. The
// state itself stays a plain member, as Python's self.h is a plain attribute: it is not a
// parameter or a buffer, so it is not in the state_dict.
#include <torch/torch.h>

#include <string_view>
#include <tuple>
#include <vector>

namespace charnn {

class StatefulModel {
 public:
  virtual ~StatefulModel() = default;

  // cs: [sl, bs] token indices. Starts from the carried state (from zeros when bs differs from
  // the state's), carries the new state, detached, to the next call. Returns [sl*bs, vocab]
  // log-probabilities, time-major rows, the order of the loader's flattened targets. The
  // indices are checked where they enter (the loader's vocabulary, sample's prompt), not here:
  // this runs on every batch.
  virtual torch::Tensor forward(const torch::Tensor& cs) = 0;
  // The notebook's init_hidden(bs): a zero state for a batch of bs.
  virtual void reset_state(int64_t bs) = 0;
  // The state as tensors (h; the LSTM: h, c), so a caller can set it aside and put it back,
  // e.g. to generate text in the middle of training without disturbing it.
  virtual std::vector<torch::Tensor> state() const = 0;
  // Throws InputError, naming the model, unless `state` has the count and shapes state()
  // returns for some batch size.
  virtual void set_state(const std::vector<torch::Tensor>& state) = 0;
  // The dimension of each state tensor that runs over the batch: where a process that computes
  // some of a batch's columns holds its part (train/shard.h).
  virtual int64_t state_batch_dim() const { return 1; }
};

// The notebook's repackage_var: the same values cut from the graph that made them, so the
// next batch's backward stops here (truncated backpropagation through time).
torch::Tensor repackage_var(const torch::Tensor& h);
std::tuple<torch::Tensor, torch::Tensor> repackage_var(const std::tuple<torch::Tensor, torch::Tensor>& h);

// Throws InputError unless `state` holds one float tensor per entry of `shapes`, each of that
// shape, where -1 marks the batch dimension: any size, the same in every tensor.
void check_state(std::string_view model, const std::vector<torch::Tensor>& state,
                 const std::vector<std::vector<int64_t>>& shapes);

}  // namespace charnn
