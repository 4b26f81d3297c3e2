#include "models/fused/fast_paths.h"

#include <functional>
#include <map>
#include <string>

#include "models/char_rnn.h"
#include "models/char_seq_rnn.h"
#include "models/char_seq_stateful_gru.h"
#include "models/char_seq_stateful_lstm.h"
#include "models/char_seq_stateful_rnn.h"
#include "models/char_seq_stateful_rnn2.h"
#include "models/fused/fused_gru.h"
#include "models/fused/fused_lstm.h"
#include "models/fused/fused_rnn.h"

namespace charnn::fused {
namespace {

using Forward = std::function<torch::Tensor(const torch::Tensor&)>;

// CharRnn.forward with rnn fused.
Forward char_rnn(std::shared_ptr<CharRnnImpl> m) {
  return [m](const torch::Tensor& cs) {
    const auto bs = cs.size(1);
    auto h = torch::zeros({1, bs, m->n_hidden}, m->e->weight.options());
    auto inp = m->e(cs);
    auto [outp, h_n] = rnn_tanh(*m->rnn, inp, h);
    return torch::log_softmax(m->l_out(outp[-1]), -1);
  };
}

Forward char_seq_rnn(std::shared_ptr<CharSeqRnnImpl> m) {
  return [m](const torch::Tensor& cs) {
    const auto bs = cs.size(1);
    auto h = torch::zeros({1, bs, m->n_hidden}, m->e->weight.options());
    auto inp = m->e(cs);
    auto [outp, h_n] = rnn_tanh(*m->rnn, inp, h);
    return torch::log_softmax(m->l_out(outp), -1);
  };
}

Forward stateful_rnn(std::shared_ptr<CharSeqStatefulRnnImpl> m) {
  return [m](const torch::Tensor& cs) {
    const auto bs = cs[0].size(0);
    if (m->h.size(1) != bs) m->init_hidden(bs);
    auto [outp, new_h] = rnn_tanh(*m->rnn, m->e(cs), m->h);
    m->h = repackage_var(new_h);
    return torch::log_softmax(m->l_out(outp), -1).view({-1, m->vocab_size});
  };
}

// The RNNCell loop is one tanh RNN layer over the sequence, on the cell's parameters.
Forward stateful_rnn2(std::shared_ptr<CharSeqStatefulRnn2Impl> m) {
  return [m](const torch::Tensor& cs) {
    const auto bs = cs[0].size(0);
    if (m->h.size(0) != bs) m->init_hidden(bs);
    const auto& cell = *m->rnn;
    const std::vector<LayerParams> layer{{cell.weight_ih, cell.weight_hh, cell.bias_ih, cell.bias_hh}};
    auto [outp, h_n] = rnn_tanh(m->e(cs), m->h.unsqueeze(0), layer, m->is_training(), 0.0);
    auto out = m->l_out(outp);
    m->h = repackage_var(h_n[0]);
    return torch::log_softmax(out, -1).view({-1, m->vocab_size});
  };
}

Forward stateful_gru(std::shared_ptr<CharSeqStatefulGRUImpl> m) {
  return [m](const torch::Tensor& cs) {
    const auto bs = cs[0].size(0);
    if (m->h.size(1) != bs) m->init_hidden(bs);
    auto [outp, new_h] = gru(*m->rnn, m->e(cs), m->h);
    m->h = repackage_var(new_h);
    return torch::log_softmax(m->l_out(outp), -1).view({-1, m->vocab_size});
  };
}

Forward stateful_lstm(std::shared_ptr<CharSeqStatefulLSTMImpl> m) {
  return [m](const torch::Tensor& cs) {
    const auto bs = cs[0].size(0);
    if (std::get<0>(m->h).size(1) != bs) m->init_hidden(bs);
    auto [outp, new_h] = lstm(*m->rnn, m->e(cs), m->h);
    m->h = repackage_var(new_h);
    return torch::log_softmax(m->l_out(outp), -1).view({-1, m->vocab_size});
  };
}

// The model's registry name to its fused forward, given its module.
template <typename Impl>
std::function<Forward(const std::shared_ptr<torch::nn::Module>&)> of(Forward (*make)(std::shared_ptr<Impl>)) {
  return [make](const std::shared_ptr<torch::nn::Module>& module) {
    auto impl = std::dynamic_pointer_cast<Impl>(module);
    return impl ? make(std::move(impl)) : Forward();
  };
}

const std::map<std::string, std::function<Forward(const std::shared_ptr<torch::nn::Module>&)>, std::less<>>&
fast_paths() {
  static const std::map<std::string, std::function<Forward(const std::shared_ptr<torch::nn::Module>&)>, std::less<>>
      paths{{"char-rnn", of(char_rnn)},
            {"char-seq-rnn", of(char_seq_rnn)},
            {"char-seq-stateful-rnn", of(stateful_rnn)},
            {"char-seq-stateful-rnn2", of(stateful_rnn2)},
            {"char-seq-stateful-gru", of(stateful_gru)},
            {"char-seq-stateful-lstm", of(stateful_lstm)}};
  return paths;
}

}  // namespace

bool has_fused_forward(std::string_view model) { return fast_paths().count(model) == 1; }

bool use_fused_layers(LessonModel& model) {
  const auto it = fast_paths().find(model.config.model);
  if (it == fast_paths().end()) return false;
  const auto parameters = model.module->parameters();
  if (parameters.empty() || !parameters[0].device().is_cpu() || parameters[0].scalar_type() != torch::kFloat32) {
    return false;
  }
  auto forward = it->second(model.module);
  if (!forward) return false;
  model.forward = std::move(forward);
  return true;
}

}  // namespace charnn::fused
