#pragma once
// The models' own source text, built into charnn (cmake/EmbedSources.cmake copies models/*.cpp at
// build time), so `charnn shapes` can print a forward's lines without a source tree: an installed
// charnn shows the code it runs.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace charnn::teach {

struct EmbeddedSource {
  std::string_view path;  // from the repository root: "models/char_rnn.cpp"
  std::string_view text;
};
// Generated: every models/*.cpp as the build found it.
const std::vector<EmbeddedSource>& embedded_sources();

struct ForwardSource {
  std::string path;
  int64_t first_line = 0;          // 1-based line number of the signature
  std::vector<std::string> lines;  // the signature through the closing brace, as written
  int64_t body_start = 0;          // index in `lines` of the first line after the opening brace
};

// `torch::Tensor <notebook_class>Impl::forward(...) { ... }` from the embedded sources, the
// function docs/make_side_by_side.py shows; nothing for a class whose source is not built in.
std::optional<ForwardSource> forward_source(std::string_view notebook_class);

}  // namespace charnn::teach
