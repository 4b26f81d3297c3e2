// Every figure the notebook prints about the data, and the split and loader semantics of
// fastai 0.7 (values from the public notebook and docs/lesson-semantics.md §1-§7).
#include <catch2/catch.hpp>

#include <fstream>
#include <set>

#include "data/corpus.h"
#include "data/layouts.h"
#include "data/loader.h"
#include "data/split.h"
#include "support.h"
#include "tensor_values.h"

using namespace charnn;

namespace {

using V = std::vector<int64_t>;

const Corpus& nietzsche() {
  static const Corpus corpus = load_corpus(test::nietzsche_path());
  return corpus;
}

}  // namespace

TEST_CASE("corpus: length, vocabulary and idx as the notebook prints them", "[data][corpus]") {
  const auto& c = nietzsche();
  CHECK(c.length() == 600893);
  CHECK(c.vocab.size() == 85);
  std::u32string middle(c.vocab.chars().begin() + 1, c.vocab.chars().end() - 6);
  CHECK(encode_utf8(middle) ==
        "\n !\"'(),-.0123456789:;=?ABCDEFGHIJKLMNOPQRSTUVWXYZ[]_abcdefghijklmnopqrstuvwxy");
  std::u32string last6(c.vocab.chars().end() - 6, c.vocab.chars().end());
  CHECK(encode_utf8(last6) == "zÆäæéë");
  CHECK(test::to_vector(c.idx.slice(0, 0, 10)) == V({40, 42, 29, 30, 25, 27, 29, 1, 1, 1}));
  CHECK(encode_utf8(c.vocab.decode(c.idx.slice(0, 0, 70))) ==
        "PREFACE\n\n\nSUPPOSING that Truth is a woman--what then? Is there not gro");
}

TEST_CASE("three-char layout: x1..x3, y and 200295 rows", "[data][layout]") {
  auto w = three_char_windows(nietzsche().idx, 3);
  CHECK(w.xs.sizes() == torch::IntArrayRef({200295, 3}));
  CHECK(w.y.sizes() == torch::IntArrayRef({200295}));
  auto head = w.xs.slice(0, 0, 4);
  CHECK(test::to_vector(head.select(1, 0)) == V({40, 30, 29, 1}));
  CHECK(test::to_vector(head.select(1, 1)) == V({42, 25, 1, 43}));
  CHECK(test::to_vector(head.select(1, 2)) == V({29, 27, 1, 45}));
  CHECK(test::to_vector(w.y.slice(0, 0, 4)) == V({30, 29, 1, 40}));
}

TEST_CASE("overlapping 8-char layout: xs[:8,:8], y[:8] and (600884, 8)", "[data][layout]") {
  auto w = overlapping_windows(nietzsche().idx, 8);
  CHECK(w.xs.sizes() == torch::IntArrayRef({600884, 8}));
  CHECK(w.y.sizes() == torch::IntArrayRef({600884}));
  CHECK(test::to_vector(w.xs.slice(0, 0, 8)) ==
        V({40, 42, 29, 30, 25, 27, 29, 1, 42, 29, 30, 25, 27, 29, 1, 1,  29, 30, 25, 27, 29, 1,
           1,  1,  30, 25, 27, 29, 1,  1, 1,  43, 25, 27, 29, 1,  1, 1,  43, 45, 27, 29, 1,  1,
           1,  43, 45, 40, 29, 1,  1,  1, 43, 45, 40, 40, 1,  1,  1, 43, 45, 40, 40, 39}));
  CHECK(test::to_vector(w.y.slice(0, 0, 8)) == V({1, 1, 43, 45, 40, 40, 39, 43}));
  // x[i][t] = idx[i+t], y[i] = idx[i+8], up to the last row.
  const auto& idx = nietzsche().idx;
  CHECK(w.xs[600883][7].item<int64_t>() == idx[600890].item<int64_t>());
  CHECK(w.y[600883].item<int64_t>() == idx[600891].item<int64_t>());
}

TEST_CASE("non-overlapping sequences: xs, ys and (75111, 8)", "[data][layout]") {
  auto w = sequence_windows(nietzsche().idx, 8);
  CHECK(w.xs.sizes() == torch::IntArrayRef({75111, 8}));
  CHECK(w.y.sizes() == torch::IntArrayRef({75111, 8}));
  CHECK(test::to_vector(w.xs.slice(0, 0, 8)) ==
        V({40, 42, 29, 30, 25, 27, 29, 1,  1,  1,  43, 45, 40, 40, 39, 43, 33, 38, 31, 2, 73, 61,
           54, 73, 2,  44, 71, 74, 73, 61, 2,  62, 72, 2,  54, 2,  76, 68, 66, 54, 67, 9, 9,  76,
           61, 54, 73, 2,  73, 61, 58, 67, 24, 2,  33, 72, 2,  73, 61, 58, 71, 58, 2,  67}));
  CHECK(test::to_vector(w.y.slice(0, 0, 8)) ==
        V({42, 29, 30, 25, 27, 29, 1,  1,  1,  43, 45, 40, 40, 39, 43, 33, 38, 31, 2,  73, 61, 54,
           73, 2,  44, 71, 74, 73, 61, 2,  62, 72, 2,  54, 2,  76, 68, 66, 54, 67, 9,  9,  76, 61,
           54, 73, 2,  73, 61, 58, 67, 24, 2,  33, 72, 2,  73, 61, 58, 71, 58, 2,  67, 68}));
}

TEST_CASE("layouts agree with the notebook's list comprehensions on a short text", "[data][layout]") {
  auto idx = torch::arange(100, torch::kInt64) * 7 % 31;
  const auto* p = idx.data_ptr<int64_t>();
  for (int64_t cs : {1, 2, 3, 5, 8}) {
    auto t = three_char_windows(idx, cs);
    std::vector<int64_t> starts;
    for (int64_t i = 0; i < 100 - 1 - cs; i += cs) starts.push_back(i);
    REQUIRE(t.rows() == static_cast<int64_t>(starts.size()) - 2);
    for (int64_t r = 0; r < t.rows(); ++r) {
      for (int64_t k = 0; k < cs; ++k) CHECK(t.xs[r][k].item<int64_t>() == p[starts[r] + k]);
      CHECK(t.y[r].item<int64_t>() == p[starts[r] + cs]);
    }
    auto s = sequence_windows(idx, cs);
    int64_t rows = 0;
    for (int64_t j = 0; j < 100 - cs - 1; j += cs, ++rows) {
      for (int64_t k = 0; k < cs; ++k) {
        CHECK(s.xs[rows][k].item<int64_t>() == p[j + k]);
        CHECK(s.y[rows][k].item<int64_t>() == p[j + 1 + k]);
      }
    }
    CHECK(s.rows() == rows);
  }
}

TEST_CASE("any UTF-8 text: vocabulary in code-point order, beyond the BMP too", "[data][corpus]") {
  auto c = corpus_from_utf8("尼采说：上帝死了。🙂a", "chinese");
  CHECK(c.length() == 11);
  CHECK(c.vocab.size() == 12);
  CHECK(c.vocab.char_at(0) == U'\0');
  CHECK(c.vocab.char_at(1) == U'a');
  CHECK(c.vocab.char_at(10) == U'\uFF1A');  // the fullwidth colon sorts after the CJK ideographs
  CHECK(c.vocab.char_at(11) == U'\U0001F642');
  CHECK(encode_utf8(c.vocab.decode(c.idx)) == "尼采说：上帝死了。🙂a");
}

TEST_CASE("bad corpus input gives one clear error naming the input", "[data][errors]") {
  namespace fs = std::filesystem;
  const auto dir = fs::temp_directory_path() / "charnn_test_bad_input";
  fs::create_directories(dir);
  auto write = [&](const std::string& name, const std::string& bytes) {
    std::ofstream(dir / name, std::ios::binary) << bytes;
    return dir / name;
  };
  using Catch::Matchers::Contains;
  CHECK_THROWS_WITH(load_corpus(dir / "missing.txt"), Contains("missing.txt: no such file"));
  CHECK_THROWS_WITH(load_corpus(dir), Contains("is a directory"));
  CHECK_THROWS_WITH(load_corpus(write("empty.txt", "")), Contains("empty.txt: the text is empty"));
  CHECK_THROWS_WITH(load_corpus(write("latin1.txt", "caf\xe9 au lait")),
                    Contains("latin1.txt: invalid UTF-8 at byte 3"));
  CHECK_THROWS_WITH(load_corpus(write("overlong.txt", "\xc0\xaf")), Contains("not a lead byte"));
  CHECK_THROWS_WITH(load_corpus(write("surrogate.txt", "\xed\xa0\x80")), Contains("surrogate"));
  CHECK_THROWS_WITH(load_corpus(write("cut.txt", "ab\xe2\x82")), Contains("truncated"));
  auto short_text = load_corpus(write("short.txt", "hello"));
  CHECK_THROWS_WITH(make_windows(short_text, Layout::Overlapping, 8),
                    Contains("short.txt: text of 5 characters is too short for one overlapping window"));
  CHECK_NOTHROW(make_windows(short_text, Layout::Overlapping, 3));
  fs::remove_all(dir);
}

// The reference vectors: docs/lesson-semantics.md §2's table (the algorithm: §3.1-§3.3).
TEST_CASE("get_cv_idxs equals numpy's legacy permutation (reference vectors)", "[data][split]") {
  auto head = [](int64_t n) { return test::to_vector(NumpyRandomState(42).permutation(n).slice(0, 0, 10)); };
  CHECK(head(10) == V({8, 1, 5, 0, 7, 2, 9, 4, 3, 6}));
  CHECK(head(1000) == V({521, 737, 740, 660, 411, 678, 626, 513, 859, 136}));
  CHECK(head(600884) == V({480310, 419017, 232803, 316420, 357537, 79705, 380628,
                                             59199, 290237, 453267}));
  CHECK(head(75102) == V({25679, 44278, 25725, 10855, 34979, 44625, 2388, 52903,
                                            54293, 253}));
  CHECK(head(200295) == V({166235, 62851, 164161, 88648, 112386, 118805, 32538,
                                             144383, 52542, 12950}));

  auto v = get_cv_idxs(600884);
  CHECK(v.numel() == 120176);
  CHECK(v.sum().item<int64_t>() == 36103464162LL);
  CHECK(test::to_vector(v.slice(0, -3)) == V({134355, 389158, 330599}));
  auto s = get_cv_idxs(75102);
  CHECK(s.numel() == 15020);  // 0.2*75102 = 15020.400000000001, truncated
  CHECK(s.sum().item<int64_t>() == 563559043LL);
  CHECK(test::to_vector(s.slice(0, -3)) == V({49739, 71742, 16822}));
  CHECK(get_cv_idxs(200295).sum().item<int64_t>() == 4024217336LL);
}

TEST_CASE("split_by_idx keeps ascending row order and understands [-1]", "[data][split]") {
  auto split = split_by_idx(torch::tensor({7, 2, 5}, torch::kInt64), 8);
  CHECK(test::to_vector(split.val) == V({2, 5, 7}));
  CHECK(test::to_vector(split.trn) == V({0, 1, 3, 4, 6}));
  auto last = split_by_idx(torch::tensor({-1}, torch::kInt64), 200295);
  CHECK(test::to_vector(last.val) == V({200294}));
  CHECK(last.trn.numel() == 200294);
  CHECK_THROWS(split_by_idx(torch::tensor({8}, torch::kInt64), 8));

  auto w = overlapping_windows(nietzsche().idx, 8);
  auto lesson = split_by_idx(get_cv_idxs(w.rows()), w.rows());
  CHECK(test::to_vector(lesson.val.slice(0, 0, 5)) == V({0, 2, 6, 7, 11}));
  auto seq = sequence_windows(nietzsche().idx, 8);
  auto seq_split = split_by_idx(get_cv_idxs(seq.rows() - 8 - 1), seq.rows());
  CHECK(test::to_vector(seq_split.val.slice(0, 0, 5)) == V({4, 12, 35, 39, 41}));
  CHECK(seq_split.trn.numel() == 60091);
}

TEST_CASE("loader: the lesson's batch counts and shapes", "[data][loader]") {
  auto w = overlapping_windows(nietzsche().idx, 8);
  auto md = from_arrays(get_cv_idxs(w.rows()), w, 512, 0);
  CHECK(md.trn_dl.num_rows() == 480708);
  CHECK(md.trn_dl.num_batches() == 939);
  CHECK(md.val_dl.num_batches() == 118);
  auto order = md.trn_dl.epoch_order();
  auto first = md.trn_dl.batch(order, 0);
  CHECK(first.xs.sizes() == torch::IntArrayRef({8, 512}));
  CHECK(first.y.sizes() == torch::IntArrayRef({512}));
  CHECK(first.xs.dtype() == torch::kInt64);
  CHECK(md.trn_dl.batch(order, 938).size() == 452);
  auto val_order = md.val_dl.epoch_order();
  CHECK(md.val_dl.batch(val_order, 0).size() == 1024);
  CHECK(md.val_dl.batch(val_order, 117).size() == 368);

  auto seq = sequence_windows(nietzsche().idx, 8);
  auto smd = from_arrays(get_cv_idxs(seq.rows() - 9), seq, 512, 0);
  CHECK(smd.trn_dl.num_batches() == 118);
  CHECK(smd.trn_dl.batch(smd.trn_dl.epoch_order(), 117).y.sizes() == torch::IntArrayRef({187, 8}));
  CHECK(smd.val_dl.num_batches() == 15);
  CHECK(smd.val_dl.batch(smd.val_dl.epoch_order(), 14).size() == 684);

  auto c3 = three_char_windows(nietzsche().idx, 3);
  auto c3md = from_arrays(torch::tensor({-1}, torch::kInt64), c3, 512, 0);
  CHECK(c3md.trn_dl.num_batches() == 392);
  CHECK(c3md.trn_dl.batch(c3md.trn_dl.epoch_order(), 391).size() == 102);
  CHECK(c3md.val_dl.num_batches() == 1);
}

TEST_CASE("loader: every training row once per epoch, reshuffled, seeded, validation in order",
          "[data][loader]") {
  // Row r's label is r, so a batch's labels name the rows it holds.
  const int64_t n = 1300;
  Windows w{torch::arange(n * 3, torch::kInt64).view({n, 3}), torch::arange(n, torch::kInt64)};
  auto val = torch::tensor({5, 17, 1299}, torch::kInt64);
  auto epoch_labels = [](DataLoader& dl) {
    auto order = dl.epoch_order();
    V seen;
    for (int64_t b = 0; b < dl.num_batches(); ++b) {
      auto batch = dl.batch(order, b);
      CHECK(batch.xs.sizes() == torch::IntArrayRef({3, batch.size()}));
      CHECK(torch::equal(batch.xs.select(0, 0), batch.y * 3));  // columns stay with their label
      auto labels = test::to_vector(batch.y);
      seen.insert(seen.end(), labels.begin(), labels.end());
    }
    return seen;
  };
  auto md = from_arrays(val, w, 512, 7);
  CHECK(md.trn_dl.num_batches() == 3);
  auto e1 = epoch_labels(md.trn_dl);
  auto e2 = epoch_labels(md.trn_dl);
  CHECK(e1.size() == 1297);
  CHECK(std::set<int64_t>(e1.begin(), e1.end()).size() == 1297);
  CHECK(std::set<int64_t>(e1.begin(), e1.end()) == std::set<int64_t>(e2.begin(), e2.end()));
  CHECK(std::set<int64_t>(e1.begin(), e1.end()).count(17) == 0);
  CHECK(e1 != e2);

  auto again = from_arrays(val, w, 512, 7);
  CHECK(epoch_labels(again.trn_dl) == e1);
  auto other = from_arrays(val, w, 512, 8);
  CHECK(epoch_labels(other.trn_dl) != e1);

  CHECK(epoch_labels(md.val_dl) == V({5, 17, 1299}));
  CHECK(epoch_labels(md.val_dl) == V({5, 17, 1299}));
}
