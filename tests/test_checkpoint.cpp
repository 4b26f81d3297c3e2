// state_dict files both ways between C++ and Python, and the one-line errors a wrong,
// damaged or missing checkpoint gives.
#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <fstream>

#include "common/error.h"
#include "data/layouts.h"
#include "models/registry.h"
#include "reference.h"
#include "train/io/checkpoint.h"
#include "train/io/torch_archive.h"
#include "train/io/torch_save.h"

using namespace charnn;
using Catch::Matchers::Contains;

namespace {

LessonModel lesson_model(const std::string& name, int64_t n_hidden = 256) {
  ModelConfig config;
  config.model = name;
  config.n_hidden = n_hidden;
  return make_model(config);
}

// Small enough (a few KiB saved) to damage every byte of its file in turn.
LessonModel tiny_model(const std::string& name, int64_t vocab_size = 10, int64_t n_fac = 4, int64_t n_hidden = 8) {
  ModelConfig config;
  config.model = name;
  config.vocab_size = vocab_size;
  config.n_fac = n_fac;
  config.n_hidden = n_hidden;
  return make_model(config);
}

std::vector<char> file_bytes(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_bytes(const std::filesystem::path& path, const char* data, size_t size) {
  std::ofstream(path, std::ios::binary | std::ios::trunc).write(data, static_cast<std::streamsize>(size));
}

std::map<std::string, at::Tensor> state_map(const torch::nn::Module& m) {
  std::map<std::string, at::Tensor> out;
  for (const auto& item : m.named_parameters()) out.emplace(item.key(), item.value().detach().clone());
  return out;
}

bool same_weights(const torch::nn::Module& a, const torch::nn::Module& b) {
  const auto pa = state_map(a), pb = state_map(b);
  if (pa.size() != pb.size()) return false;
  for (const auto& [key, t] : pa) {
    if (!pb.count(key) || !torch::equal(t, pb.at(key))) return false;
  }
  return true;
}

// The first state_dict the Python reference saved for a registered model, with the config that
// builds its C++ twin: the windowed models' from export_reference.py, the stateful models' (at
// their smaller sizes) from export_stateful_reference.py. A model neither holds fails by name.
std::pair<std::filesystem::path, ModelConfig> python_saved(const ModelSpec& spec) {
  ModelConfig config;
  config.model = std::string(spec.name);
  if (!spec.is_stateful()) {
    const auto& reference = test::reference_json("models", "reference.json");
    const auto test_case = test::cases_of(test::kWindowedCases, spec.name).at(0);
    config.vocab_size = reference["vocab_size"].get<int64_t>();
    config.n_fac = reference["n_fac"].get<int64_t>();
    config.n_hidden = reference["n_hidden"].get<int64_t>();
    return {test::reference_file("models", test_case["files"]["state_dict"].get<std::string>()), config};
  }
  const auto test_case = test::cases_of(test::kStatefulCases, spec.name).at(0);
  config.vocab_size = test_case["vocab_size"].get<int64_t>();
  config.n_fac = test_case["n_fac"].get<int64_t>();
  config.n_hidden = test_case["n_hidden"].get<int64_t>();
  config.bs = test_case["bs"].get<int64_t>();
  if (test_case.contains("nl")) config.nl = test_case["nl"].get<int64_t>();
  return {test::reference_file("stateful", test_case["files"]["state_dict"].get<std::string>()), config};
}

// Cuts the file at every length and flips every byte of it in turn: a cut file is rejected, and
// a flipped one is either rejected, with an InputError naming the file, or loads exactly the
// weights of the good file (a byte no reader depends on, such as padding); never a crash, never
// a silently different weight.
void expect_damage_reported(const std::vector<char>& good, const test::TempDir& dir, torch::nn::Module& module) {
  REQUIRE(good.size() < 16384);  // every byte is tried: keep the file small
  const auto path = dir / "damaged.pt";
  auto loads = [&](const char* what, size_t where) {
    INFO(what << " at byte " << where);
    try {
      load_state_dict(module, path);
      return true;
    } catch (const InputError& e) {
      CHECK_THAT(e.what(), Contains("damaged.pt: "));
      return false;
    }
  };
  for (size_t len = 0; len < good.size(); ++len) {
    write_bytes(path, good.data(), len);
    CHECK_FALSE(loads("truncated", len));
  }
  write_bytes(path, good.data(), good.size());
  REQUIRE(loads("intact", 0));
  std::vector<torch::Tensor> want;
  for (const auto& p : module.parameters()) want.push_back(p.detach().clone());
  auto bad = good;
  for (size_t pos = 0; pos < good.size(); ++pos) {
    bad[pos] = static_cast<char>(bad[pos] ^ 0x5a);
    write_bytes(path, bad.data(), bad.size());
    if (loads("flipped", pos)) {
      INFO("flipped byte " << pos << " loaded");
      const auto got = module.parameters();
      for (size_t i = 0; i < want.size(); ++i) CHECK(torch::equal(got[i], want[i]));
    }
    bad[pos] = good[pos];
  }
}

}  // namespace

TEST_CASE("checkpoint: save then load restores every weight exactly", "[checkpoint]") {
  test::TempDir dir("ckpt_roundtrip");
  for (const auto& spec : model_registry()) {
    INFO(spec.name);
    auto a = lesson_model(std::string(spec.name));
    auto b = lesson_model(std::string(spec.name));
    REQUIRE_FALSE(same_weights(*a.module, *b.module));
    save_state_dict(*a.module, dir / "model.pt");
    load_state_dict(*b.module, dir / "model.pt");
    CHECK(same_weights(*a.module, *b.module));
  }
  // Overwriting goes through a temporary that is renamed away: only the target remains.
  size_t files = 0;
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator(dir.path())) ++files;
  CHECK(files == 1);
}

TEST_CASE("checkpoint: a C++-saved state_dict loads in Python with weights_only=True into its model", "[python][checkpoint]") {
  test::TempDir dir("ckpt_to_python");
  torch::manual_seed(6);
  for (const auto& spec : model_registry()) {
    const std::string name(spec.name);
    INFO(name);
    auto model = lesson_model(name);
    auto xs = torch::randint(0, 85, {default_window(spec.layout), 16}, torch::kInt64);
    save_state_dict(*model.module, dir / "model.pt");
    write_tensor_dict({{"xs", xs}}, dir / "input.pt");

    const auto run = test::run_python("checkpoint_forward.py", {"--model", name, "--state", (dir / "model.pt").string(),
                                                                "--input", (dir / "input.pt").string(),
                                                                "--out", (dir / "out.pt").string()});
    INFO(run.output);
    REQUIRE(run.status == 0);
    torch::NoGradGuard no_grad;
    model.module->eval();
    const auto diff = test::max_abs_diff(model.forward(xs), read_tensor_dict(dir / "out.pt").at("out"));
    fmt::print("{:<24} {:<34} max |C++ - Python| = {:.3g}\n", name, "forward after C++ save -> Python", diff);
    CHECK(diff <= 1e-6);
  }
}

TEST_CASE("checkpoint: Python's torch.save(model.state_dict()) loads in C++", "[python][checkpoint]") {
  // The exporters save each state_dict exactly as a Python user would: an OrderedDict.
  for (const auto& spec : model_registry()) {
    const auto [path, config] = python_saved(spec);
    INFO(path.string());
    const auto python = read_tensor_dict(path);
    auto model = make_model(config);
    load_state_dict(*model.module, path);
    for (const auto& item : model.module->named_parameters()) {
      INFO(item.key());
      CHECK(torch::equal(item.value(), python.at(item.key())));
    }
  }
}

TEST_CASE("checkpoint: missing key, unexpected key and wrong shape name the file, key and shapes",
          "[checkpoint][errors]") {
  test::TempDir dir("ckpt_strict");
  auto model = lesson_model("char-rnn");
  auto state = state_map(*model.module);

  auto missing = state;
  missing.erase("rnn.weight_hh_l0");
  write_tensor_dict(missing, dir / "missing.pt");
  CHECK_THROWS_WITH(load_state_dict(*model.module, dir / "missing.pt"),
                    Contains("missing.pt: key 'rnn.weight_hh_l0' is missing from the file (the model's is [256, 256])"));

  auto extra = state;
  extra.emplace("l_hidden.weight", torch::zeros({3, 4}));
  write_tensor_dict(extra, dir / "extra.pt");
  CHECK_THROWS_WITH(load_state_dict(*model.module, dir / "extra.pt"),
                    Contains("extra.pt: unexpected key 'l_hidden.weight' of shape [3, 4]"));

  save_state_dict(*lesson_model("char-rnn", 128).module, dir / "small.pt");
  CHECK_THROWS_WITH(load_state_dict(*model.module, dir / "small.pt"),
                    Contains("small.pt: key 'rnn.weight_ih_l0' has shape [128, 42] in the file but [256, 42] in the model"));

  // Strictness is checked before anything is copied: a rejected file leaves the model as it was.
  const auto before = state_map(*model.module);
  CHECK_THROWS_AS(load_state_dict(*model.module, dir / "small.pt"), InputError);
  for (const auto& [key, t] : before) CHECK(torch::equal(t, model.module->named_parameters()[key]));

  save_state_dict(*lesson_model("char-loop-model").module, dir / "other_model.pt");
  CHECK_THROWS_WITH(load_state_dict(*model.module, dir / "other_model.pt"), Contains("other_model.pt: key 'rnn."));
}

TEST_CASE("checkpoint: missing, empty or foreign files are an InputError naming the file", "[checkpoint][errors]") {
  test::TempDir dir("ckpt_foreign");
  auto model = lesson_model("char3-model");
  CHECK_THROWS_WITH(load_state_dict(*model.module, dir / "nope.pt"), Contains("nope.pt: no such file"));
  CHECK_THROWS_WITH(load_state_dict(*model.module, dir.path()), Contains("is a directory"));
  write_bytes(dir / "empty.pt", "", 0);
  CHECK_THROWS_WITH(read_tensor_dict(dir / "empty.pt"), Contains("empty.pt: the file is empty"));
  write_bytes(dir / "text.pt", "hello, world\n", 13);
  CHECK_THROWS_WITH(read_tensor_dict(dir / "text.pt"), Contains("text.pt: not a readable torch.save file"));
}

TEST_CASE("checkpoint: a truncated or corrupted C++-saved file is an InputError, never a crash",
          "[checkpoint][errors]") {
  test::TempDir dir("ckpt_corrupt");
  auto model = tiny_model("char3-model");
  save_state_dict(*model.module, dir / "good.pt");
  expect_damage_reported(file_bytes(dir / "good.pt"), dir, *model.module);
}

TEST_CASE("checkpoint: a truncated or corrupted Python-saved file is an InputError, never a crash",
          "[python][checkpoint][errors]") {
  test::TempDir dir("ckpt_corrupt_python");
  const auto& tiny = test::reference_json("models", "reference.json")["tiny"];
  auto model = tiny_model(tiny["model"].get<std::string>(), tiny["vocab_size"].get<int64_t>(),
                          tiny["n_fac"].get<int64_t>(), tiny["n_hidden"].get<int64_t>());
  const auto file = test::reference_file("models", tiny["state_dict"].get<std::string>());
  const auto good = file_bytes(file);
  load_state_dict(*model.module, file);
  expect_damage_reported(good, dir, *model.module);
}

TEST_CASE("checkpoint: a file holding something other than a dict of tensors is rejected", "[checkpoint][errors]") {
  test::TempDir dir("ckpt_not_dict");
  const auto tensor_only = torch::pickle_save(torch::ones({2}));
  write_bytes(dir / "tensor.pt", tensor_only.data(), tensor_only.size());
  CHECK_THROWS_WITH(read_tensor_dict(dir / "tensor.pt"), Contains("tensor.pt: expected a dict of tensors, found Tensor"));

  c10::Dict<std::string, int64_t> ints;
  ints.insert("step", 3);
  const auto not_tensors = torch::pickle_save(c10::IValue(ints));
  write_bytes(dir / "ints.pt", not_tensors.data(), not_tensors.size());
  CHECK_THROWS_WITH(read_tensor_dict(dir / "ints.pt"), Contains("ints.pt: expected a dict of name -> tensor"));
}

TEST_CASE("checkpoint: an unwritable destination is an InputError naming it", "[checkpoint][errors]") {
  test::TempDir dir("ckpt_unwritable");
  auto model = lesson_model("char3-model");
  CHECK_THROWS_WITH(save_state_dict(*model.module, dir / "no_such_dir" / "model.pt"), Contains("model.pt: cannot write"));
}

TEST_CASE("checkpoint: Python's pickles are rewritten into the plain dicts LibTorch reads", "[checkpoint][pickle]") {
  using namespace std::string_literals;
  const auto proto = "\x80\x02"s;
  // {'a': 1} as Python writes a one-entry dict: SETITEM becomes MARK ... SETITEMS.
  CHECK(plain_dict_pickle(proto + "}q\x00X\x01\x00\x00\x00" "aq\x01K\x01s."s) ==
        proto + "}q\x00(X\x01\x00\x00\x00" "aq\x01K\x01u."s);
  // OrderedDict() becomes {}.
  CHECK(plain_dict_pickle(proto + "ccollections\nOrderedDict\nq\x00)Rq\x01."s) == proto + "}q\x01."s);
  // A dict's BUILD (the state_dict's _metadata attribute) is dropped with its state.
  CHECK(plain_dict_pickle(proto + "}q\x00}q\x01X\x01\x00\x00\x00" "mK\x01sb."s) == proto + "}q\x00."s);
  // A plain pickle passes unchanged.
  CHECK(plain_dict_pickle(proto + "]q\x00(K\x01K\x02" "e."s) == proto + "]q\x00(K\x01K\x02" "e."s);

  using Catch::Matchers::Contains;
  CHECK_THROWS_WITH(plain_dict_pickle(proto + "X\xff\xff\xff\x7f."s), Contains("malformed opcode 0x58 (byte 2)"));
  CHECK_THROWS_WITH(plain_dict_pickle(proto + "}q\x05."s), Contains("(byte 3)"));  // memo index out of sequence
  CHECK_THROWS_WITH(plain_dict_pickle(proto + "}"s), Contains("ends before its STOP"));
  CHECK_THROWS_WITH(plain_dict_pickle(proto + "Vabc\n."s), Contains("unsupported or malformed opcode 0x56"));
  // A tensor's storage key must name a torch storage type: LibTorch would index a table with it.
  const auto key = [](const std::string& type) {
    return "(X\x07\x00\x00\x00storage"s + type + "X\x01\x00\x00\x00" "0X\x03\x00\x00\x00" "cpuK\x02tQ."s;
  };
  CHECK_NOTHROW(plain_dict_pickle(proto + key("ctorch\nFloatStorage\n")));
  CHECK_THROWS_WITH(plain_dict_pickle(proto + key("K\xc8")), Contains("opcode 0x51"));
}

TEST_CASE("checkpoint: torch_save writes nested values that read back as written", "[checkpoint]") {
  test::TempDir dir("torch_save_nested");
  auto inner = c10::impl::GenericDict(c10::StringType::get(), c10::AnyType::get());
  inner.insert("step", int64_t{3000000000});  // past int32: LONG1
  inner.insert("neg", int64_t{-7});
  inner.insert("lr", 1e-3);
  inner.insert("betas", c10::ivalue::Tuple::create(0.9, 0.999));
  inner.insert("none", c10::IValue());
  inner.insert("flag", true);
  inner.insert("names", c10::List<std::string>({"e.weight", "l_out.bias"}));
  const auto weights = torch::arange(12, torch::kFloat64).view({3, 4}).t();  // not contiguous
  inner.insert("w", weights);
  inner.insert("idx", torch::tensor({5, 1, 4}, torch::kInt64));
  auto outer = c10::impl::GenericDict(c10::StringType::get(), c10::AnyType::get());
  outer.insert("inner", inner);
  torch_save(c10::IValue(outer), dir / "nested.pt");

  const auto back = read_torch_file(dir / "nested.pt").toGenericDict().at("inner").toGenericDict();
  CHECK(back.at("step").toInt() == 3000000000);
  CHECK(back.at("neg").toInt() == -7);
  CHECK(back.at("lr").toDouble() == 1e-3);
  CHECK(back.at("betas").toTupleRef().elements()[1].toDouble() == 0.999);
  CHECK(back.at("none").isNone());
  CHECK(back.at("flag").toBool());
  CHECK(back.at("names").toList().get(1).toStringRef() == "l_out.bias");
  CHECK(torch::equal(back.at("w").toTensor(), weights));
  CHECK(torch::equal(back.at("idx").toTensor(), torch::tensor({5, 1, 4}, torch::kInt64)));
}
