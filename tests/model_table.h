#pragma once
// The tests' per-model expectations, in tables keyed by registry name. A model registered
// without an entry fails naming the table and what to give, so whoever adds a model says what
// each test should expect of it.
#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <functional>
#include <map>
#include <string>
#include <string_view>

namespace charnn::test {

template <class Entry>
using ModelTable = std::map<std::string, Entry, std::less<>>;

// `where` names the table and its file, `what` what an entry gives.
template <class Entry>
const Entry& model_entry(const ModelTable<Entry>& table, std::string_view model, std::string_view where,
                         std::string_view what) {
  const auto it = table.find(model);
  if (it == table.end()) FAIL(fmt::format("{} is registered but has no entry in {}: {}", model, where, what));
  return it->second;
}

}  // namespace charnn::test
