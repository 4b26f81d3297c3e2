#pragma once
// model_entry's definition (declared in models/registry.h): how a model class becomes a
// registry entry, found from the methods the class has.
#include <fmt/format.h>

#include <stdexcept>
#include <type_traits>
#include <utility>

namespace charnn {
namespace registry_detail {

template <typename Impl, typename = void>
struct HasIdentityInit : std::false_type {};
template <typename Impl>
struct HasIdentityInit<Impl, std::void_t<decltype(std::declval<Impl&>().identity_init())>> : std::true_type {};

template <typename Impl, typename = void>
struct HasWindowRecurrence : std::false_type {};
template <typename Impl>
struct HasWindowRecurrence<Impl, std::void_t<decltype(std::declval<const Impl&>().window_recurrence())>>
    : std::true_type {};

// Char3Model's forward takes the three characters as three tensors.
template <typename Impl, typename = void>
struct TakesThreeColumns : std::false_type {};
template <typename Impl>
struct TakesThreeColumns<Impl, std::void_t<decltype(std::declval<Impl&>().forward(
                                   std::declval<torch::Tensor>(), std::declval<torch::Tensor>(),
                                   std::declval<torch::Tensor>()))>> : std::true_type {};

// CharSeqStatefulLSTM takes its layers and dropout. The holder's constructor forwards any
// arguments, so the question is asked of the module itself.
template <typename Impl>
constexpr bool kTakesLayers = std::is_constructible_v<Impl, int64_t, int64_t, int64_t, int64_t, int64_t, double>;

template <typename Holder>
Holder construct(const ModelConfig& c) {
  using Impl = typename Holder::ContainedType;
  if constexpr (!std::is_base_of_v<StatefulModel, Impl>) {
    return Holder(c.vocab_size, c.n_fac, c.n_hidden);
  } else if constexpr (kTakesLayers<Impl>) {
    return Holder(c.vocab_size, c.n_fac, c.bs, c.nl, c.n_hidden, c.dropout);
  } else {
    return Holder(c.vocab_size, c.n_fac, c.bs, c.n_hidden);
  }
}

}  // namespace registry_detail

template <typename Holder>
ModelSpec model_entry(std::string_view name, std::string_view notebook_class, Layout layout, LossKind loss,
                      int64_t lesson_n_hidden) {
  using Impl = typename Holder::ContainedType;
  constexpr bool identity = registry_detail::HasIdentityInit<Impl>::value;
  constexpr bool stateful = std::is_base_of_v<StatefulModel, Impl>;
  if (stateful != (layout == Layout::LanguageModel)) {
    throw std::invalid_argument(fmt::format("model '{}': a stateful model needs the language-model layout, and only "
                                            "a stateful model reads it",
                                            name));
  }
  auto make = [](const ModelConfig& config) {
    Holder m = registry_detail::construct<Holder>(config);
    if constexpr (identity) {
      if (config.identity_init) m->identity_init();
    }
    LessonModel out{config, m.ptr(), nullptr, nullptr, nullptr};
    if constexpr (stateful) out.stateful = std::shared_ptr<StatefulModel>(m.ptr(), m.ptr().get());
    if constexpr (registry_detail::TakesThreeColumns<Impl>::value) {
      out.forward = [m](const torch::Tensor& xs) mutable { return m->forward(xs[0], xs[1], xs[2]); };
    } else {
      out.forward = [m](const torch::Tensor& xs) mutable { return m->forward(xs); };
    }
    if constexpr (registry_detail::HasWindowRecurrence<Impl>::value) {
      out.window_recurrence = [m] { return m->window_recurrence(); };
    }
    return out;
  };
  const bool language_model = layout == Layout::LanguageModel;
  return {name,     notebook_class,  layout, loss, identity, make, lesson_n_hidden,
          language_model ? "language-model" : "windowed", language_model ? 64 : 512};
}

}  // namespace charnn
