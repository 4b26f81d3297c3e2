#include "train/teach/forward_source.h"

#include <algorithm>

namespace charnn::teach {
namespace {

std::vector<std::string> split_lines(std::string_view text) {
  std::vector<std::string> lines;
  size_t start = 0;
  while (start <= text.size()) {
    const auto end = text.find('\n', start);
    lines.emplace_back(text.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start));
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  return lines;
}

}  // namespace

std::optional<ForwardSource> forward_source(std::string_view notebook_class) {
  const std::string signature = "torch::Tensor " + std::string(notebook_class) + "Impl::forward(";
  for (const auto& source : embedded_sources()) {
    const auto lines = split_lines(source.text);
    const auto start = std::find_if(lines.begin(), lines.end(),
                                     [&](const std::string& l) { return l.rfind(signature, 0) == 0; });
    if (start == lines.end()) continue;
    // The function ends at the first closing brace in column 0, as make_side_by_side.py cuts it.
    const auto end = std::find(start, lines.end(), "}");
    if (end == lines.end()) continue;
    ForwardSource out;
    out.path = std::string(source.path);
    out.first_line = (start - lines.begin()) + 1;
    out.lines.assign(start, end + 1);
    const auto open = std::find_if(out.lines.begin(), out.lines.end(), [](const std::string& l) {
      return !l.empty() && l.back() == '{';
    });
    out.body_start = (open - out.lines.begin()) + 1;
    return out;
  }
  return std::nullopt;
}

}  // namespace charnn::teach
