#include <fmt/format.h>

#include <algorithm>

#include "train/families/family.h"
#include "train/families/language_model.h"
#include "train/families/windows.h"

namespace charnn {
namespace {

std::vector<std::shared_ptr<const Family>>& registry() {
  static std::vector<std::shared_ptr<const Family>> families{windowed_family(), language_model_family()};
  return families;
}

}  // namespace

const Family& family_of(const ModelSpec& spec) {
  for (const auto& family : registry()) {
    if (family->name() == spec.family) return *family;
  }
  throw std::invalid_argument(fmt::format("model '{}': no family '{}'", spec.name, spec.family));
}

void register_family(std::shared_ptr<const Family> family) {
  for (const auto& known : registry()) {
    if (known->name() == family->name()) {
      throw std::invalid_argument(fmt::format("family '{}' is registered", family->name()));
    }
  }
  registry().push_back(std::move(family));
}

void unregister_family(std::string_view name) {
  auto& families = registry();
  families.erase(std::remove_if(families.begin(), families.end(),
                                [&](const std::shared_ptr<const Family>& f) { return f->name() == name; }),
                 families.end());
}

}  // namespace charnn
