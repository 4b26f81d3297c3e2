#pragma once
// model_entry's definition (declared in models/registry.h): how a model class becomes a
// registry entry, found from the methods the class has.
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

}  // namespace registry_detail

template <typename Holder>
ModelSpec model_entry(std::string_view name, std::string_view notebook_class, Layout layout, LossKind loss) {
  using Impl = typename Holder::ContainedType;
  constexpr bool identity = registry_detail::HasIdentityInit<Impl>::value;
  auto make = [](const ModelConfig& config) {
    Holder m(config.vocab_size, config.n_fac, config.n_hidden);
    if constexpr (identity) {
      if (config.identity_init) m->identity_init();
    }
    LessonModel out{config, m.ptr(), nullptr, nullptr};
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
  return {name, notebook_class, layout, loss, identity, make};
}

}  // namespace charnn
