#include "train/teach/shape_walk.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include <map>
#include <set>
#include <stdexcept>

#include "train/teach/forward_lines.h"
#include "train/teach/forward_source.h"

namespace charnn::teach {
namespace {

std::set<std::string> layer_names(const torch::nn::Module& module) {
  std::set<std::string> names;
  for (const auto& child : module.named_children()) names.insert(child.key());
  return names;
}

// Which layer each operator belongs to: the one whose parameters it reads (nn::Linear's aten::t
// reads the weight, its aten::addmm the bias); empty for the operators between the layers.
std::vector<std::string> layer_of_each(const std::vector<RecordedOp>& ops, const torch::nn::Module& module) {
  std::map<const void*, std::string> owner;
  for (const auto& child : module.named_children()) {
    for (const auto& p : child.value()->parameters()) owner[p.storage().unsafeGetStorageImpl()] = child.key();
  }
  std::vector<std::string> layers;
  for (const auto& op : ops) {
    std::string layer;
    for (const auto* storage : op.input_storages) {
      if (const auto it = owner.find(storage); it != owner.end()) {
        layer = it->second;
        break;
      }
    }
    layers.push_back(layer);
  }
  return layers;
}

void collect_ops(const std::vector<Statement>& statements, std::set<std::string>& ops) {
  for (const auto& s : statements) {
    for (const auto& step : s.steps) {
      if (step.kind == Step::Kind::Op || step.kind == Step::Kind::MaybeOp) ops.insert(step.op);
    }
    collect_ops(s.body, ops);
  }
}

// Walks the statements as the forward ran them, taking the recorded operators in order.
class Matcher {
 public:
  Matcher(const std::vector<RecordedOp>& ops, std::vector<std::string> layers, const std::vector<Statement>& program,
          ShapeWalk& walk, int64_t line_offset)
      : ops_(ops), layers_(std::move(layers)), walk_(walk), line_offset_(line_offset) {
    collect_ops(program, named_);
  }

  void run(const std::vector<Statement>& program) {
    // Before the forward's first operator come the caller's: Char3Model's three columns are
    // picked from xs (models/registry_entry.h) before its forward starts.
    while (unnamed()) ++pos_;
    block(program);
    if (pos_ != ops_.size()) {
      throw std::runtime_error(fmt::format("{}: the forward ran {} after its last line", walk_.source,
                                           ops_[pos_].name));
    }
  }

 private:
  using Results = std::vector<std::vector<Shape>>;  // per step, the shapes it made

  void block(const std::vector<Statement>& statements) {
    for (const auto& s : statements) statement(s);
  }

  void statement(const Statement& s) {
    const auto results = steps(s);
    const auto value = s.value_step >= 0 ? results[static_cast<size_t>(s.value_step)] : std::vector<Shape>{};
    auto& line = walk_.lines[static_cast<size_t>(s.line)];
    switch (s.kind) {
      case Statement::Kind::Plain:
        if (s.binds && !value.empty()) line.values.push_back(value);
        break;
      case Statement::Kind::If:
        if (guarded_runs(s.body.front())) statement(s.body.front());
        break;
      case Statement::Kind::For:
        loop(s, value, line);
        break;
    }
  }

  // The loop's variable takes each tensor its range made; a range this walk cannot see (a
  // vector) runs the body while the next operator is the body's first.
  void loop(const Statement& s, const std::vector<Shape>& range, WalkLine& line) {
    if (s.value_step >= 0) {
      for (const auto& element : range) {
        line.values.push_back({element});
        block(s.body);
      }
      return;
    }
    const auto first = first_op(s.body);
    while (!first.empty() && pos_ < ops_.size() && ops_[pos_].name == first) block(s.body);
  }

  // A one-line if's statement ran when its first operator is next (or it may run anything).
  bool guarded_runs(const Statement& guarded) const {
    if (guarded.steps.empty()) return false;
    const auto& first = guarded.steps.front();
    switch (first.kind) {
      case Step::Kind::Op:
        return pos_ < ops_.size() && ops_[pos_].name == first.op;
      case Step::Kind::Layer:
        return in_layer(first.op);
      default:
        return true;
    }
  }

  bool in_layer(const std::string& layer) const { return pos_ < ops_.size() && layers_[pos_] == layer; }
  // The next operator is neither one a line names nor one of a layer's: a function's own.
  bool unnamed() const { return pos_ < ops_.size() && layers_[pos_].empty() && named_.count(ops_[pos_].name) == 0; }

  static std::string first_op(const std::vector<Statement>& statements) {
    for (const auto& s : statements) {
      for (const auto& step : s.steps) {
        if (step.kind == Step::Kind::Op) return step.op;
      }
    }
    return {};
  }

  Results steps(const Statement& s) {
    Results results;
    for (const auto& step : s.steps) {
      std::vector<Shape> made;
      switch (step.kind) {
        case Step::Kind::Op:
          if (pos_ >= ops_.size() || ops_[pos_].name != step.op) throw mismatch(s, step.op);
          made = ops_[pos_++].outputs;
          break;
        case Step::Kind::MaybeOp:
          if (pos_ < ops_.size() && ops_[pos_].name == step.op) made = ops_[pos_++].outputs;
          break;
        case Step::Kind::Layer:
          if (!in_layer(step.op)) throw mismatch(s, "layer " + step.op);
          while (in_layer(step.op)) made = ops_[pos_++].outputs;
          break;
        case Step::Kind::AnyOps:
          while (unnamed()) {
            const auto& outputs = ops_[pos_++].outputs;
            made.insert(made.end(), outputs.begin(), outputs.end());
          }
          break;
      }
      results.push_back(std::move(made));
    }
    return results;
  }

  std::runtime_error mismatch(const Statement& s, const std::string& expected) const {
    return std::runtime_error(fmt::format("{}:{}: `{}` calls {}, but the forward ran {}", walk_.source,
                                          line_offset_ + s.line, walk_.lines[static_cast<size_t>(s.line)].text,
                                          expected, pos_ < ops_.size() ? ops_[pos_].name : "nothing more"));
  }

  const std::vector<RecordedOp>& ops_;
  std::vector<std::string> layers_;  // each operator's layer, or empty
  ShapeWalk& walk_;
  int64_t line_offset_;
  std::set<std::string> named_;  // every operator some line calls by name
  size_t pos_ = 0;
};

std::string without_trailing_space(const std::string& line) {
  const auto last = line.find_last_not_of(" \t\r");
  return last == std::string::npos ? std::string() : line.substr(0, last + 1);
}

std::vector<RecordedOp> record_forward(LessonModel& model, const torch::Tensor& xs) {
  torch::NoGradGuard no_grad;
  const bool was_training = model.module->is_training();
  model.module->eval();
  OpRecorder recorder;
  model.forward(xs);
  auto ops = recorder.take();
  model.module->train(was_training);
  return ops;
}

// A model whose source is not built in: its operators, one per line.
void walk_operators(const std::vector<RecordedOp>& ops, ShapeWalk& walk) {
  for (const auto& op : ops) {
    walk.lines.push_back({static_cast<int64_t>(walk.lines.size()) + 1, op.name, {op.outputs}});
  }
}

}  // namespace

ShapeWalk walk_forward(const ModelSpec& spec, LessonModel& model, const torch::Tensor& xs) {
  ShapeWalk walk;
  walk.model = std::string(spec.name);
  walk.notebook_class = std::string(spec.notebook_class);
  walk.input = Shape(xs.sizes().begin(), xs.sizes().end());
  const auto ops = record_forward(model, xs);
  const auto source = forward_source(spec.notebook_class);
  if (!source) {
    walk_operators(ops, walk);
    return walk;
  }
  walk.source = source->path;
  for (size_t i = 0; i < source->lines.size(); ++i) {
    walk.lines.push_back({source->first_line + static_cast<int64_t>(i), without_trailing_space(source->lines[i]), {}});
  }
  const auto program = read_statements(source->lines, source->body_start, layer_names(*model.module));
  Matcher(ops, layer_of_each(ops, *model.module), program, walk, source->first_line).run(program);
  return walk;
}

ShapeWalk lesson_walk(const std::string& model, const LessonDataOptions& options) {
  const auto first = first_training_batch(model, options);
  torch::manual_seed(options.seed);
  auto m = make_model(first.config.model);
  return walk_forward(find_model(model), m, first.batch.xs);
}

std::string shape_text(const Shape& shape) {
  return shape.empty() ? "scalar" : fmt::format("{}", fmt::join(shape, "x"));
}

std::string values_text(const std::vector<std::vector<Shape>>& values) {
  auto one = [](const std::vector<Shape>& shapes) {
    std::vector<std::string> parts;
    for (const auto& s : shapes) parts.push_back(shape_text(s));
    return fmt::format("{}", fmt::join(parts, ", "));
  };
  if (values.empty()) return {};
  bool same = true;
  for (const auto& v : values) same = same && v == values.front();
  if (same && values.size() == 1) return one(values.front());
  if (same) return fmt::format("{} (x{})", one(values.front()), values.size());
  std::vector<std::string> each;
  for (const auto& v : values) each.push_back(one(v));
  return fmt::format("{}", fmt::join(each, " | "));
}

std::string walk_text(const ShapeWalk& walk) {
  // The shapes line up after the longest line that has some: a long signature does not push them away.
  size_t width = 0;
  for (const auto& l : walk.lines) {
    if (!l.values.empty()) width = std::max(width, l.text.size());
  }
  const auto from = walk.source.empty() ? ": its source is not built in; its operators" : ", " + walk.source;
  std::string out =
      fmt::format("{} ({}{}), one forward of xs {}\n", walk.model, walk.notebook_class, from, shape_text(walk.input));
  for (const auto& l : walk.lines) {
    const auto shapes = values_text(l.values);
    if (l.text.empty()) {
      out += "\n";
    } else {
      out += shapes.empty() ? fmt::format("  {}\n", l.text) : fmt::format("  {:<{}}  {}\n", l.text, width, shapes);
    }
  }
  return out;
}

std::string walk_json(const ShapeWalk& walk) {
  nlohmann::json lines = nlohmann::json::array();
  for (const auto& l : walk.lines) lines.push_back({{"number", l.number}, {"text", l.text}, {"values", l.values}});
  const nlohmann::json j = {{"model", walk.model},   {"notebook_class", walk.notebook_class},
                            {"source", walk.source}, {"input", walk.input},
                            {"lines", lines}};
  return j.dump() + "\n";
}

}  // namespace charnn::teach
