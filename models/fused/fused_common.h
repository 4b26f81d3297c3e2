#pragma once
// What the three fused layers share: the parameters of one layer as torch::nn's modules hold
// them, the checks on their inputs, the stack of layers with ATen's dropout between them, and the
// products over all steps that turn the gates' gradients into the gradients of x and of the
// weights and biases once the step-by-step recurrence is done.
#include <torch/torch.h>

#include <functional>
#include <optional>
#include <vector>

namespace charnn::fused {

// One layer's parameters: weight_ih_l{k} [G*H, I], weight_hh_l{k} [G*H, H], bias_ih_l{k} and
// bias_hh_l{k} [G*H], with G = 1 (tanh RNN), 3 (GRU) or 4 (LSTM) gates.
struct LayerParams {
  torch::Tensor w_ih, w_hh, b_ih, b_hh;
};

// The module's own tensors (not copies), so the fused layer's gradients land in their .grad and
// the state_dict stays the module's. Throws (c10::Error) naming a parameter the module lacks.
std::vector<LayerParams> layer_params(const torch::nn::Module& module, int64_t num_layers);

// While one lives on this thread, the dropout between layers draws its mask for a batch of
// `total` columns and keeps the ones from `begin` (as many as the input has): a rank that
// computes some of a batch's columns (train/shard.h) drops out exactly what the whole batch's
// dropout would have dropped there.
class DropoutColumns {
 public:
  struct Window {
    int64_t begin, total;
  };
  DropoutColumns(int64_t begin, int64_t total);
  ~DropoutColumns();
  DropoutColumns(const DropoutColumns&) = delete;
  DropoutColumns& operator=(const DropoutColumns&) = delete;

 private:
  std::optional<Window> previous_;
};

namespace detail {

// Throws (c10::Error) unless x is [T, B, I] float32 on the CPU with T, B >= 1, each state is
// [L, B, H], and each layer's parameters have a `gates`-gate cell's shapes for input I (the
// first layer) or H (the others).
void check_inputs(const char* layer, const torch::Tensor& x, const std::vector<torch::Tensor>& states,
                  const std::vector<LayerParams>& layers, int64_t gates);

// The state to start from: `state` itself, or zeros [L, B, H] where it is undefined (as the
// modules' forward does when no state is given).
torch::Tensor state_or_zeros(const torch::Tensor& state, const torch::Tensor& x, int64_t num_layers, int64_t hidden);

// Runs `layer(input, l)` for l = 0..L-1, each on the previous layer's output (x for the first),
// and returns the last one's output. In training with dropout > 0, every output but the last
// goes through at::dropout(output, dropout, true) first: the call ATen's CPU RNNs make between
// layers, so the same seed draws the same masks from the same generator in the same order.
torch::Tensor stack_layers(const torch::Tensor& x, int64_t num_layers, bool train, double dropout,
                           const std::function<torch::Tensor(const torch::Tensor& input, int64_t layer)>& layer);

// [T*B, G] = x [T*B, I] W_ih^T + bias: every step's input projection as one product.
torch::Tensor input_projection(const torch::Tensor& x, const torch::Tensor& w_ih, const torch::Tensor& bias);

// The gradient of a [T, B, H] (or [B, H]) output as a contiguous tensor; zeros where autograd
// passed none (the output was not used).
torch::Tensor grad_or_zeros(const torch::Tensor& grad, const torch::Tensor& like);

// The same as a buffer of the caller's own, which the recurrence overwrites.
torch::Tensor owned_grad_or_zeros(const torch::Tensor& grad, const torch::Tensor& like);

// Which of a layer's inputs autograd wants gradients for.
struct Needs {
  bool x, h0, w_ih, w_hh, b_ih, b_hh;
};

struct ProductGrads {
  torch::Tensor x, w_ih, w_hh, b_ih, b_hh;
};

// After the recurrence: dx = dG_x W_ih, dW_ih = dG_x^T x, dW_hh = dG_h^T [h0; h_0..h_{T-2}],
// db_ih = sum dG_x, db_hh = sum dG_h, each one product or sum over all T*B rows. dgates_x and
// dgates_h [T, B, G] are the gradients of the input-side and hidden-side pre-activations (the
// same tensor for the tanh RNN and the LSTM; the GRU's differ in the n gate). out [T, B, H] holds
// h_1..h_T. Entries autograd does not need stay undefined.
ProductGrads products_over_steps(const Needs& needs, const torch::Tensor& dgates_x, const torch::Tensor& dgates_h,
                                 const torch::Tensor& x, const torch::Tensor& h0, const torch::Tensor& out,
                                 const torch::Tensor& w_ih);

inline float* data(const torch::Tensor& t) { return t.data_ptr<float>(); }

}  // namespace detail
}  // namespace charnn::fused
