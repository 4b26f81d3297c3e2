#include "train/teach/lesson_batch.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <stdexcept>

#include "common/error.h"
#include "data/lesson_data.h"
#include "train/families/family.h"
#include "train/shard.h"

namespace charnn::teach {
namespace {

RunConfig run_config(const ModelSpec& spec, const LessonDataOptions& o) {
  RunConfig config;
  config.model.model = std::string(spec.name);
  config.model.n_hidden = spec.lesson_n_hidden;
  config.bs = o.bs > 0 ? o.bs : spec.lesson_bs;
  config.seed = o.seed;
  config.text = o.text;
  config.max_chars = o.max_chars;
  config.shards = 1;  // one thread: only the data is wanted
  return config;
}

std::vector<std::string> tokens_of(const torch::Tensor& indices, const std::vector<std::string>& vocab) {
  std::vector<std::string> out;
  const auto flat = indices.reshape({-1}).contiguous();
  const auto* p = flat.data_ptr<int64_t>();
  for (int64_t i = 0; i < flat.numel(); ++i) out.push_back(vocab.at(static_cast<size_t>(p[i])));
  return out;
}

std::string windowed_about(Layout layout, int64_t rows, int64_t window, int64_t bs) {
  const auto order = fmt::format("in the text's order (ColumnarModelData trains on them {} at a time, shuffled)", bs);
  switch (layout) {
    case Layout::ThreeChar:
      return fmt::format("the first {} rows of x1, x2, x3 and y: {} characters, then the next, a window every {} "
                         "characters, {}",
                         rows, window, window, order);
    case Layout::Overlapping:
      return fmt::format("the first {} rows of xs and y: {} characters, then the next; each row is the one before "
                         "shifted by one character, {}",
                         rows, window, order);
    default:
      return fmt::format("the first {} rows of xs and ys: {} characters, then the same shifted by one; the windows "
                         "do not overlap, {}",
                         rows, window, order);
  }
}

BatchRows windowed_rows(const ModelSpec& spec, const LessonDataOptions& o, int64_t rows) {
  const auto corpus = load_training_text(o.text, o.max_chars);
  const int64_t window = default_window(spec.layout);
  const auto windows = make_windows(corpus, spec.layout, window);
  const auto vocab = corpus.vocab.tokens();
  const auto n = std::min(rows, windows.rows());
  BatchRows out{std::string(spec.name), std::string(layout_name(spec.layout)),
                windowed_about(spec.layout, n, window, o.bs > 0 ? o.bs : spec.lesson_bs), {}, {}};
  for (int64_t r = 0; r < n; ++r) {
    out.x.push_back(tokens_of(windows.xs[r], vocab));
    out.y.push_back(tokens_of(windows.y[r], vocab));
  }
  return out;
}

BatchRows language_model_rows(const ModelSpec& spec, const LessonDataOptions& o, int64_t rows) {
  const auto first = first_training_batch(std::string(spec.name), o);
  const auto& x = first.batch.xs;  // (sl, bs)
  const auto y = first.batch.y.view({x.size(0), x.size(1)});
  const auto n = std::min(rows, x.size(1));
  BatchRows out{std::string(spec.name), std::string(layout_name(spec.layout)),
                fmt::format("the first training batch, x {}x{} and y (the same shifted by one character): its first "
                            "{} columns, each read down; column c continues the text at its c-th stretch",
                            x.size(0), x.size(1), n),
                {}, {}};
  for (int64_t c = 0; c < n; ++c) {
    out.x.push_back(tokens_of(x.select(1, c), first.config.vocab));
    out.y.push_back(tokens_of(y.select(1, c), first.config.vocab));
  }
  return out;
}

}  // namespace

const ModelSpec& known_model(const std::string& name) {
  try {
    return find_model(name);
  } catch (const std::invalid_argument& e) {
    throw InputError(e.what());
  }
}

FirstBatch first_training_batch(const std::string& model, const LessonDataOptions& o) {
  const auto& spec = known_model(model);
  auto config = run_config(spec, o);
  const auto corpus = load_training_text(o.text, o.max_chars);
  auto data = family_of(spec).prepare(corpus, config, torch::Device(torch::kCPU), local_shard());
  data->start_epoch();
  auto batch = data->next_batch();
  if (!batch || batch->size() < config.bs) {
    const auto part = o.max_chars > 0 ? fmt::format(" (its first {} characters)", o.max_chars) : std::string();
    throw InputError(fmt::format("{}{}: {} training windows for {}, too short for one batch of {}", o.text, part,
                                 data->training_rows(), spec.name, config.bs));
  }
  return {std::move(config), std::move(*batch)};
}

BatchRows first_rows(const std::string& model, const LessonDataOptions& o, int64_t rows) {
  const auto& spec = known_model(model);
  return spec.is_stateful() ? language_model_rows(spec, o, rows) : windowed_rows(spec, o, rows);
}

std::string visible(const std::vector<std::string>& tokens) {
  std::string out;
  for (const auto& t : tokens) {
    if (t == "\n") {
      out += "\\n";
    } else if (t == "\t") {
      out += "\\t";
    } else if (t == std::string(1, '\0')) {
      out += "\\0";
    } else if (t == "\\") {
      out += "\\\\";
    } else {
      out += t;
    }
  }
  return out;
}

std::string rows_text(const BatchRows& rows) {
  size_t width = 1;
  for (const auto& x : rows.x) width = std::max(width, visible(x).size() + 2);
  std::string out = fmt::format("{}: {}\n  {:<{}}  y\n", rows.model, rows.about, "x", width);
  for (size_t r = 0; r < rows.x.size(); ++r) {
    out += fmt::format("  {:<{}}  '{}'\n", fmt::format("'{}'", visible(rows.x[r])), width, visible(rows.y[r]));
  }
  return out;
}

std::string rows_json(const BatchRows& rows) {
  const nlohmann::json j = {{"model", rows.model}, {"layout", rows.layout}, {"about", rows.about},
                            {"x", rows.x},         {"y", rows.y}};
  return j.dump() + "\n";
}

}  // namespace charnn::teach
