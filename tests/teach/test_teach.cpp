// `charnn shapes` and `charnn batches` (train/teach/): the C++ walk of every model's forward
// against the Python twin's (notebooks-ref/shapes.py), the write-up's shapes where it shows them,
// the first rows against the twin's loaders (notebooks-ref/batches.py), and bad input.
#include <catch2/catch.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>

#include "cli_process.h"
#include "common/error.h"
#include "models/char_rnn.h"
#include "support.h"
#include "train/teach/lesson_batch.h"
#include "train/teach/shape_walk.h"

using namespace charnn;
using namespace charnn::test;
using teach::Shape;
namespace fs = std::filesystem;

namespace {

teach::LessonDataOptions lesson_data(int64_t bs = 0) { return {nietzsche_path().string(), 0, 0, bs}; }

nlohmann::json reference(const std::string& name) {
  const auto path = fs::path(CHARNN_TEACH_REFERENCE) / name;
  std::ifstream in(path);
  if (!in) FAIL("no " << path << ": the python_teach_reference fixture (notebooks-ref/shapes.py --all) writes it");
  return nlohmann::json::parse(in);
}

// What each line that made tensors made, in the order of the lines: the part of a walk both
// languages share (their texts differ, and C++ has closing braces Python has not).
std::vector<std::vector<std::vector<Shape>>> made(const teach::ShapeWalk& walk) {
  std::vector<std::vector<std::vector<Shape>>> out;
  for (const auto& line : walk.lines) {
    if (!line.values.empty()) out.push_back(line.values);
  }
  return out;
}

std::vector<std::vector<std::vector<Shape>>> made(const nlohmann::json& walk) {
  std::vector<std::vector<std::vector<Shape>>> out;
  for (const auto& line : walk.at("lines")) {
    if (!line.at("values").empty()) out.push_back(line.at("values").get<std::vector<std::vector<Shape>>>());
  }
  return out;
}

const teach::WalkLine& line_with(const teach::ShapeWalk& walk, const std::string& code) {
  for (const auto& line : walk.lines) {
    if (line.text.find(code) != std::string::npos) return line;
  }
  FAIL("no line of " << walk.model << "'s forward holds " << code);
  throw std::logic_error("unreachable");
}

}  // namespace

TEST_CASE("shapes: every model's C++ walk is the Python twin's, at the lesson's bs and at bs 1", "[python][teach]") {
  for (const auto& spec : model_registry()) {
    for (const int64_t bs : {spec.lesson_bs, int64_t{1}}) {
      const std::string model(spec.name);
      INFO(model << " at bs " << bs);
      const auto python = reference(fmt::format("{}-bs{}.json", model, bs));
      const auto walk = teach::lesson_walk(model, lesson_data(bs));
      CHECK(walk.notebook_class == python.at("notebook_class").get<std::string>());
      CHECK(walk.input == python.at("input").get<Shape>());
      CHECK(walk.input.at(1) == bs);
      const auto ours = made(walk);
      CHECK(ours == made(python));
      CHECK(ours.size() >= 3);  // every forward makes its input's embedding, a state and the output
    }
  }
}

TEST_CASE("shapes: CharRnn's walk shows the write-up's shapes where it shows them", "[teach]") {
  const auto walk = teach::lesson_walk("char-rnn", lesson_data());
  CHECK(walk.input == Shape{8, 512});
  CHECK(line_with(walk, "e(cs)").values == std::vector<std::vector<Shape>>{{{8, 512, 42}}});
  CHECK(line_with(walk, "rnn(inp, h)").values == std::vector<std::vector<Shape>>{{{8, 512, 256}, {1, 512, 256}}});
  CHECK(line_with(walk, "return").values == std::vector<std::vector<Shape>>{{{512, 85}}});
  const auto text = teach::walk_text(walk);
  CHECK(text.find("8x512x256, 1x512x256") != std::string::npos);
  CHECK(text.find("512x85") != std::string::npos);

  const auto one = teach::lesson_walk("char-rnn", lesson_data(1));
  CHECK(line_with(one, "rnn(inp, h)").values == std::vector<std::vector<Shape>>{{{8, 1, 256}, {1, 1, 256}}});
  CHECK(line_with(one, "return").values == std::vector<std::vector<Shape>>{{{1, 85}}});
  CHECK(teach::walk_text(one).find("1x85") != std::string::npos);
}

TEST_CASE("shapes: a loop's variable and body show each step; a line that binds nothing shows nothing", "[teach]") {
  const auto walk = teach::lesson_walk("char-seq-stateful-rnn2", lesson_data());
  const auto steps = walk.input.at(0);  // the first batch's random sequence length
  CHECK(line_with(walk, "cs.unbind(0)").values == std::vector<std::vector<Shape>>(steps, {{64}}));
  CHECK(line_with(walk, "o = rnn(e(c), o)").values == std::vector<std::vector<Shape>>(steps, {{64, 256}}));
  CHECK(line_with(walk, "outp.push_back(o)").values.empty());
  CHECK(line_with(walk, "init_hidden(bs)").values.empty());
  CHECK(line_with(walk, "auto o = h;").values.empty());  // the same tensor: nothing made
  CHECK(line_with(walk, "repackage_var(o)").values == std::vector<std::vector<Shape>>{{{64, 256}}});
  CHECK(teach::values_text(line_with(walk, "cs.unbind(0)").values) == fmt::format("64 (x{})", steps));
}

TEST_CASE("shapes: a model whose source is not built in is walked operator by operator", "[teach]") {
  register_model(model_entry<CharRnn>("teach-test-rnn", "TeachTestRnn", Layout::Overlapping, LossKind::Nll));
  ModelConfig config;
  config.model = "teach-test-rnn";
  auto model = make_model(config);
  const auto walk = teach::walk_forward(find_model("teach-test-rnn"), model, torch::zeros({8, 4}, torch::kLong));
  unregister_model("teach-test-rnn");
  CHECK(walk.source.empty());
  std::vector<std::string> ops;
  for (const auto& line : walk.lines) ops.push_back(line.text);
  CHECK(std::find(ops.begin(), ops.end(), "aten::embedding") != ops.end());
  CHECK(std::find(ops.begin(), ops.end(), "aten::log_softmax") != ops.end());
  CHECK(walk.lines.back().values == std::vector<std::vector<Shape>>{{{4, 85}}});
}

TEST_CASE("batches: every model's first rows are the Python twin's", "[python][teach]") {
  for (const auto& spec : model_registry()) {
    const std::string model(spec.name);
    INFO(model);
    const auto python = reference(model + "-rows.json");
    const auto rows = teach::first_rows(model, lesson_data(), 8);
    CHECK(rows.layout == python.at("layout").get<std::string>());
    CHECK(rows.x == python.at("x").get<std::vector<std::vector<std::string>>>());
    CHECK(rows.y == python.at("y").get<std::vector<std::vector<std::string>>>());
    CHECK(rows.x.size() == 8);
  }
}

TEST_CASE("batches: the windows are the write-up's", "[teach]") {
  auto joined = [](const std::vector<std::string>& tokens) {
    std::string s;
    for (const auto& t : tokens) s += t;
    return s;
  };
  const auto overlapping = teach::first_rows("char-rnn", lesson_data(), 3);
  CHECK(joined(overlapping.x[0]) == "PREFACE\n");
  CHECK(joined(overlapping.x[1]) == "REFACE\n\n");  // the row before, shifted by one
  CHECK(joined(overlapping.y[0]) == "\n");
  const auto sequences = teach::first_rows("char-seq-rnn", lesson_data(), 2);
  CHECK(joined(sequences.x[1]) == "\n\nSUPPOS");
  CHECK(joined(sequences.y[1]) == "\nSUPPOSI");
  CHECK(teach::visible(sequences.x[1]) == "\\n\\nSUPPOS");
}

TEST_CASE("shapes, batches: an unknown model lists the known ones in one line", "[teach][cli]") {
  const auto dir = fresh_dir("teach-unknown");
  for (const char* command : {"shapes", "batches"}) {
    const auto r = run_cli({command, "char-nope"}, dir, command);
    INFO(command << ": " << r.err);
    CHECK(r.exit_code == 1);
    REQUIRE(r.err_lines().size() == 1);
    CHECK(r.err_lines()[0].rfind("charnn: error: unknown model 'char-nope' (known: ", 0) == 0);
    for (const auto& spec : model_registry()) CHECK(r.err.find(std::string(spec.name)) != std::string::npos);
    CHECK(r.out.empty());
  }
}

TEST_CASE("shapes, batches: a text too short for one batch says so in one line", "[teach][cli]") {
  const auto dir = fresh_dir("teach-short");
  write_file(dir / "short.txt", synthetic_text(400));
  const std::vector<std::vector<std::string>> commands = {
      {"shapes", "char-rnn"}, {"shapes", "char-seq-stateful-gru"}, {"batches", "char-seq-stateful-lstm"}};
  for (auto args : commands) {
    args.insert(args.end(), {"--text", (dir / "short.txt").string()});
    const auto r = run_cli(args, dir, args[1]);
    INFO(args[0] << " " << args[1] << ": " << r.err);
    CHECK(r.exit_code == 1);
    REQUIRE(r.err_lines().size() == 1);
    CHECK(r.err_lines()[0].find("too short for one batch") != std::string::npos);
  }
  // One sample is always there.
  const auto one = run_cli({"shapes", "char-rnn", "--bs", "1", "--text", (dir / "short.txt").string()}, dir, "bs1");
  CHECK(one.exit_code == 0);
  CHECK(one.out.find("1x") != std::string::npos);
}
