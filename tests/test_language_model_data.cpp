// The stateful section's data: numpy's random()/normal(), torchtext's Field and Vocab,
// batchify and LanguageModelLoader, against the notebook's printed numbers, the test vectors
// of docs/lesson-semantics.md (§3.4, §3.5, §9.2-§9.4), and notebooks-ref/export_lm_reference.py
// (part "lm" of notebooks-ref/export.py) run on the same corpus.
#include <catch2/catch.hpp>

#include <fstream>
#include <map>
#include <numeric>
#include <utility>
#include <nlohmann/json.hpp>

#include "data/corpus.h"
#include "data/language_model_data.h"
#include "data/unicode_lower.h"
#include "reference.h"
#include "support.h"
#include "tensor_values.h"

using namespace charnn;
using Catch::Matchers::Contains;
using V = std::vector<int64_t>;

namespace {

const TextFiles& nietzsche_files() {
  static const TextFiles files = [] {
    const auto corpus = load_corpus(test::nietzsche_path());
    return split_lines(corpus.text, kLessonTrnLines, corpus.name);
  }();
  return files;
}

LanguageModelData lesson_md() {
  return from_text_files(nietzsche_files(), std::make_shared<NumpyRandomState>(0), 64, 8, 3);
}

V sequence_lengths(LanguageModelLoader& dl) {
  V sls;
  for (const auto& [x, y] : dl) sls.push_back(x.size(0));
  return sls;
}

// The sequence export_lm_reference.py's draws() makes with numpy.
torch::Tensor draws(uint32_t seed, int n = 3000, int reseed_at = 1500) {
  NumpyRandomState np_random(seed);
  std::vector<double> out;
  for (int k = 0; k < n; ++k) {
    out.push_back(np_random.random());
    out.push_back(np_random.normal(k % 5 - 2.0, 1.0 + k % 4));
    if (k == reseed_at) np_random.seed(seed);
  }
  return torch::tensor(out, torch::kFloat64);
}

const nlohmann::json& lm_reference() { return test::reference_json("lm", "lm_reference.json"); }

std::vector<std::string> lesson_itos() {
  std::vector<std::string> itos{"<unk>", "<pad>"};
  for (char32_t c : std::u32string(U" etiaonsrhldcufm\npg,ywbv-.\"kx;:qj!?()'z12=_3[]5468790\u00e4")) {
    itos.push_back(encode_utf8(c));
  }
  return itos;
}

}  // namespace

// The reference's vectors: docs/lesson-semantics.md §3.4 and §3.5.
TEST_CASE("numpy random: random() and normal() equal the reference's vectors", "[data][split]") {
  NumpyRandomState np_random(42);
  CHECK(np_random.random() == 0.3745401188473625);
  np_random.seed(42);
  CHECK(np_random.normal(8, 5) == 10.483570765056164);
  CHECK(np_random.normal(8, 5) == 7.308678494144077);  // the cached one: no draw
  CHECK(np_random.normal(8, 5) == 11.238442690503462);
  // seed() forgets the Gaussian waiting in the cache.
  np_random.seed(42);
  CHECK(np_random.normal(8, 5) == 10.483570765056164);
}

TEST_CASE("numpy random: every random() and normal() equals numpy's, re-seeding included",
          "[python][data][split]") {
  const auto ref = test::reference_tensors("lm", "numpy_random.pt");
  for (const auto seed : lm_reference().at("draw_seeds").get<std::vector<uint32_t>>()) {
    INFO("seed " << seed);
    const auto ours = draws(seed);
    const auto& theirs = ref.at(fmt::format("seed{}", seed));
    REQUIRE(ours.sizes() == theirs.sizes());
    const auto differ = torch::nonzero(ours != theirs);
    INFO("first difference at draw " << (differ.numel() ? differ[0].item<int64_t>() : -1));
    CHECK(differ.numel() == 0);  // bit for bit
  }
}

TEST_CASE("text field: python_lower is Python's str.lower on every code point", "[python][data]") {
  const auto ref = test::reference_tensors("lm", "lower.pt");
  const auto code_points = test::to_vector(ref.at("code_points"));
  const auto lower = ref.at("lower").contiguous();
  std::map<char32_t, std::u32string> expected;
  for (size_t k = 0; k < code_points.size(); ++k) {
    std::u32string low(1, static_cast<char32_t>(lower[k][0].item<int64_t>()));
    if (lower[k][1].item<int64_t>() >= 0) low += static_cast<char32_t>(lower[k][1].item<int64_t>());
    expected[static_cast<char32_t>(code_points[k])] = low;
  }
  CHECK(expected.size() > 1000);
  int64_t wrong = 0;
  for (char32_t c = 0; c < 0x110000; ++c) {
    const auto it = expected.find(c);
    const auto want = it == expected.end() ? std::u32string(1, c) : it->second;
    if (python_lower(c) != want && ++wrong <= 5) FAIL_CHECK(fmt::format("U+{:04X}", static_cast<uint32_t>(c)));
  }
  CHECK(wrong == 0);
}

TEST_CASE("text field: tokens, ties and specials as lesson6_stateful.py builds them", "[python][data]") {
  const auto& small = lm_reference().at("small");
  for (const auto& want : small.at("vocab")) {
    INFO("min_freq " << want.at("min_freq"));
    torchtext::Field TEXT(/*lower=*/true);
    const torchtext::ConcatTextDataset ds{decode_utf8(want.at("text").get<std::string>(), "small")};
    TEXT.build_vocab(ds, want.at("min_freq").get<int64_t>());
    CHECK(TEXT.vocab.itos() == want.at("itos").get<std::vector<std::string>>());
    const auto nums = TEXT.numericalize(ds);
    CHECK(test::to_vector(nums) == want.at("nums").get<V>());
    CHECK(TEXT.vocab.decode(nums) == want.at("decoded").get<std::string>());
  }
  const auto& split = small.at("split");
  const auto files = split_lines(decode_utf8(split.at("bytes").get<std::string>(), "split"),
                                 split.at("trn_lines").get<int64_t>(), "mixed.txt");
  CHECK(encode_utf8(files.trn) == split.at("trn").get<std::string>());
  CHECK(encode_utf8(files.val) == split.at("val").get<std::string>());
  CHECK(files.val_name == "mixed.txt lines 3-6 (validation)");
}

TEST_CASE("language model data: the notebook's (963, 56, 1, 493747) and its 56-entry itos", "[data][lm]") {
  auto md = lesson_md();
  // len(md.trn_dl), md.nt, len(md.trn_ds), len(md.trn_ds[0].text); one dataset, one example.
  CHECK(md.trn_dl.size() == 963);
  CHECK(md.nt == 56);
  CHECK(md.trn_ds.num_tokens() == 493747);
  CHECK(md.field.vocab.itos() == lesson_itos());
  CHECK(md.field.vocab.stoi(U"\n") == 18);
  CHECK(md.pad_idx == 1);
  // '<eos>' (once), and æ, é, ë (fewer than 3 times), are <unk>; Æ lower-cases to æ.
  CHECK(md.field.vocab.stoi(torchtext::kEos) == 0);
  CHECK(md.field.preprocess(U'\u00c6') == U"\u00e6");
  CHECK(test::to_vector(md.field.numericalize(U"\u00c6\u00e6\u00e9\u00eb\u00e4A")) == V({0, 0, 0, 0, 55, 6}));

  const auto& data = md.trn_dl.data();
  CHECK(data.sizes() == torch::IntArrayRef({7714, 64}));
  CHECK(test::to_vector(data[0].slice(0, 0, 8)) == V({19, 8, 6, 2, 17, 7, 9, 8}));
  const auto column0 = data.select(1, 0).slice(0, 0, 10);
  CHECK(test::to_vector(column0) == V({19, 10, 3, 16, 6, 14, 3, 18, 18, 18}));
  CHECK(md.field.vocab.decode(column0) == "preface\n\n\n");
  // data[t][c] = token[c*nb + t]: column 1 starts where column 0 ends.
  const auto nums = md.field.numericalize(md.trn_ds);
  CHECK(data[0][1].item<int64_t>() == nums[7714].item<int64_t>());
  CHECK(data[7713][63].item<int64_t>() == nums[64 * 7714 - 1].item<int64_t>());

  // The validation part is the assumed rest of the lines (lines 7999-9935).
  CHECK(md.val_ds.num_tokens() == 107148);
  CHECK(md.val_dl.data().size(0) == 1674);
  CHECK(md.val_dl.size() == 208);
}

// The reference's sequence lengths: docs/lesson-semantics.md §9.4's synthetic test vector.
TEST_CASE("LanguageModelLoader: the reference's sequence lengths after np.random.seed(42)", "[data][lm]") {
  auto md = lesson_md();
  md.np_random->seed(42);
  const auto trn = sequence_lengths(md.trn_dl);
  CHECK(V(trn.begin(), trn.begin() + 20) ==
        V({5, 9, 9, 13, 5, 5, 5, 12, 5, 5, 5, 10, 8, 5, 5, 12, 5, 7, 6, 9}));
  CHECK(trn.size() == 924);
  CHECK(V(trn.end() - 3, trn.end()) == V({6, 16, 4}));
  CHECK(std::accumulate(trn.begin(), trn.end(), int64_t{0}) == 7713);  // nb - 1 rows: the last is clamped
  // The validation loader continues the same numpy stream.
  const auto val = sequence_lengths(md.val_dl);
  CHECK(val.size() == 201);
  CHECK(V(val.begin(), val.begin() + 10) == V({5, 10, 17, 9, 7, 14, 5, 12, 5, 5}));
}

TEST_CASE("LanguageModelLoader: x and y are views of data, y one row ahead", "[data][lm]") {
  auto md = lesson_md();
  md.np_random->seed(7);
  const auto& data = md.trn_dl.data();
  int64_t i = 0;
  for (const auto& [x, y] : md.trn_dl) {
    const int64_t sl = x.size(0);
    REQUIRE(x.sizes() == torch::IntArrayRef({sl, 64}));
    REQUIRE(y.sizes() == torch::IntArrayRef({sl * 64}));
    REQUIRE(x.dtype() == torch::kInt64);
    REQUIRE(y.dtype() == torch::kInt64);
    // No copies: both share data's storage, at rows i and i+1.
    REQUIRE(x.data_ptr<int64_t>() == data.data_ptr<int64_t>() + i * 64);
    REQUIRE(y.data_ptr<int64_t>() == data.data_ptr<int64_t>() + (i + 1) * 64);
    REQUIRE(torch::equal(y.view({sl, 64}).slice(0, 0, sl - 1), x.slice(0, 1)));
    i += sl;
  }
  CHECK(i == data.size(0) - 1);
}

TEST_CASE("LanguageModelLoader: every batch of two training epochs and a validation epoch equals Python's",
          "[python][data][lm]") {
  const auto& ref = lm_reference();
  const auto batches = test::reference_tensors("lm", "lm_batches.pt");
  auto md = lesson_md();
  CHECK(md.field.vocab.itos() == ref.at("itos").get<std::vector<std::string>>());
  CHECK(V{md.trn_dl.size(), md.nt, 1, md.trn_ds.num_tokens()} == ref.at("notebook").get<V>());
  CHECK(md.val_dl.size() == ref.at("val_len").get<int64_t>());
  CHECK(md.val_ds.num_tokens() == ref.at("val_tokens").get<int64_t>());

  md.np_random->seed(ref.at("seed").get<uint32_t>());
  const std::pair<const char*, LanguageModelLoader*> passes[] = {{"trn", &md.trn_dl}, {"val", &md.val_dl},
                                                                 {"trn2", &md.trn_dl}};
  for (const auto& [pass, dl] : passes) {
    INFO(pass);
    std::vector<torch::Tensor> xs, ys;
    V sls;
    for (const auto& [x, y] : *dl) {
      xs.push_back(x.reshape(-1));
      ys.push_back(y);
      sls.push_back(x.size(0));
    }
    CHECK(sls == test::to_vector(batches.at(fmt::format("{}.sl", pass))));
    CHECK(torch::equal(torch::cat(xs), batches.at(fmt::format("{}.x", pass)).to(torch::kInt64)));
    CHECK(torch::equal(torch::cat(ys), batches.at(fmt::format("{}.y", pass)).to(torch::kInt64)));
  }
}

TEST_CASE("language model data: itos goes through config.json's strings and back", "[data][lm]") {
  const auto md = lesson_md();
  const auto vocab = torchtext::Vocab::from_itos(md.field.vocab.itos(), "config.json 'itos'");
  CHECK(vocab.itos() == md.field.vocab.itos());
  const auto text = md.field.numericalize(md.trn_ds).slice(0, 0, 400);
  torchtext::Field TEXT;
  TEXT.vocab = vocab;
  CHECK(torch::equal(TEXT.numericalize(md.trn_ds.text.substr(0, 400)), text));
  CHECK(vocab.decode(text).substr(0, 33) == "preface\n\n\nsupposing that truth is");
  CHECK(vocab.decode(torch::tensor({0, 1, 2}, torch::kInt64)) == "<unk><pad> ");
  CHECK_THROWS_AS(vocab.decode(torch::tensor({56}, torch::kInt64)), std::out_of_range);

  using Itos = std::vector<std::string>;
  CHECK_THROWS_WITH(torchtext::Vocab::from_itos(Itos{"a", "b"}, "run/config.json 'itos'"),
                    "run/config.json 'itos': a vocabulary starts with \"<unk>\", \"<pad>\"");
  CHECK_THROWS_WITH(torchtext::Vocab::from_itos(Itos{"<unk>", "<pad>", "a", "b", "a"}, "itos"),
                    "itos: token \"a\" is both entry 2 and 4");
  CHECK_THROWS_WITH(torchtext::Vocab::from_itos(Itos{"<unk>", "<pad>", ""}, "itos"),
                    "itos: entry 2 is an empty token");
  CHECK_THROWS_WITH(torchtext::Vocab::from_itos(Itos{"<unk>", "<pad>", "\xe9"}, "itos"),
                    Contains("itos entry 2: invalid UTF-8 at byte 0"));
}

TEST_CASE("language model data: bad input gives one clear error naming the input", "[data][lm][errors]") {
  auto np_random = std::make_shared<NumpyRandomState>(0);
  CHECK_THROWS_AS(split_lines(U"one\ntwo\n", 2, "two.txt"), InputError);
  CHECK_THROWS_WITH(split_lines(U"one\ntwo\n", 2, "two.txt"),
                    "two.txt: 2 line(s), but the training part takes the first 2 and the validation part needs "
                    "at least one more");
  CHECK_THROWS_WITH(split_lines(U"one\ntwo", 5, "two.txt"), Contains("two.txt: 2 line(s)"));
  CHECK_THROWS_WITH(split_lines(U"one\ntwo\nthree", 0, "three.txt"),
                    "three.txt: the training part needs at least 1 line, got 0");

  // 16 rows of bs 2 make len(dl) = 16 // 8 - 1 = 1, the least a loader can have.
  std::u32string trn(2 * 16, U'a');
  CHECK_NOTHROW(from_text_files(split_lines(trn + U"\n" + trn, 1, "ok.txt"), np_random, 2, 8, 1));
  CHECK_THROWS_AS(from_text_files(split_lines(trn + U"\nshort", 1, "short.txt"), np_random, 2, 8, 1), InputError);
  CHECK_THROWS_WITH(from_text_files(split_lines(trn + U"\nshort", 1, "short.txt"), np_random, 2, 8, 1),
                    "short.txt lines 2-2 (validation): 6 tokens make 3 row(s) of bs 2, too short for one batch: "
                    "bptt 8 needs at least 16 rows (32 tokens)");
  CHECK_THROWS_WITH(from_text_files(nietzsche_files(), np_random, 64, 0, 3), Contains("bptt must be >= 1, got 0"));
  CHECK_THROWS_WITH(from_text_files(nietzsche_files(), np_random, 0, 8, 3), Contains("bs must be >= 1, got 0"));
}
