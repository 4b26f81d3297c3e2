#include "train/io/config_file.h"

#include <fmt/format.h>

#include <cmath>
#include <cstdint>
#include <fstream>
#include <nlohmann/json.hpp>

#include "data/corpus.h"
#include "train/optimizer.h"
#include "train/io/atomic_file.h"

namespace charnn {
namespace {

constexpr const char* kFormat = "charnn-run/2";
// charnn 0.2.0's files: the windowed models' vocabulary as code points ('vocab_code_points'),
// no 'optimizer' (always Adam).
constexpr const char* kFormat1 = "charnn-run/1";

}  // namespace

std::string to_json(const RunConfig& c) {
  nlohmann::json schedule = nlohmann::json::array();
  for (const auto& f : c.schedule) schedule.push_back(to_json(f));
  nlohmann::json j = {
      {"format", kFormat},
      {"model", c.model.model},
      {"vocab_size", c.model.vocab_size},
      {"n_fac", c.model.n_fac},
      {"n_hidden", c.model.n_hidden},
      {"identity_init", c.model.identity_init},
      {"model_bs", c.model.bs},
      {"nl", c.model.nl},
      {"dropout", c.model.dropout},
      {"window", c.window},
      {"schedule", schedule},
      {"seed", c.seed},
      {"bs", c.bs},
      {"text", c.text},
      {"max_chars", c.max_chars},
      {"text_digest", {{"bytes", c.text_digest.bytes}, {"fnv1a", c.text_digest.fnv1a}}},
      {"trained_digest", {{"bytes", c.trained_digest.bytes}, {"fnv1a", c.trained_digest.fnv1a}}},
      {"shards", c.shards},
      {"optimizer", c.optimizer},
      {"world_size", c.world_size},
      {"backend", c.backend},
      {"wd", c.wd},
      {"trn_lines", c.trn_lines},
      {"trn_dl", {{"batches", c.trn_batches}, {"rows", c.trn_rows}}},
      {"itos", c.vocab},
  };
  return j.dump(2) + "\n";
}

void write_run_config(const std::filesystem::path& dir, const RunConfig& config) {
  write_file_atomically(dir / kConfigFile, to_json(config));
}

namespace {

using Json = nlohmann::json;

// nlohmann's get<int>() casts a float such as 3e120 straight to an integer (undefined
// behaviour) and truncates 2.5 to 2; a hand-edited config.json deserves a plain error.
int64_t integer_field(const Json& j, const char* key, int64_t min, int64_t max = INT64_MAX) {
  const auto& v = j.at(key);
  const bool in_range = v.is_number_unsigned()  ? v.get<uint64_t>() <= static_cast<uint64_t>(max)
                        : v.is_number_integer() ? v.get<int64_t>() <= max
                                                : false;
  if (!in_range || v.get<int64_t>() < min) {
    throw InputError(max == INT64_MAX ? fmt::format("'{}' must be an integer >= {}, got {}", key, min, v.dump())
                                      : fmt::format("'{}' must be an integer from {} to {}, got {}", key, min,
                                                    max, v.dump()));
  }
  return v.get<int64_t>();
}

uint64_t unsigned_field(const Json& j, const char* key) {
  const auto& v = j.at(key);
  if (!v.is_number_unsigned()) throw InputError(fmt::format("'{}' must be an integer >= 0, got {}", key, v.dump()));
  return v.get<uint64_t>();
}

std::vector<char32_t> code_points_field(const Json& j, const char* key) {
  std::vector<char32_t> out;
  for (const auto& v : j.at(key)) {
    if (!v.is_number_unsigned() || v.get<uint64_t>() > 0x10FFFF) {
      throw InputError(fmt::format("'{}' holds {}, not a Unicode code point", key, v.dump()));
    }
    out.push_back(static_cast<char32_t>(v.get<uint64_t>()));
  }
  return out;
}

Digest digest_field(const Json& j, const char* key) {
  const auto& v = j.at(key);
  return {unsigned_field(v, "bytes"), unsigned_field(v, "fnv1a")};
}

// Version 1 kept the windowed models' vocabulary as code points, "\0" first.
std::vector<std::string> vocab_field_v1(const Json& j, const ModelSpec& spec) {
  if (spec.is_stateful()) return j.at("itos").get<std::vector<std::string>>();
  std::vector<std::string> tokens;
  for (const char32_t c : code_points_field(j, "vocab_code_points")) tokens.push_back(encode_utf8(c));
  return tokens;
}

double dropout_field(const Json& j) {
  const auto& v = j.at("dropout");
  if (!v.is_number() || !(v.get<double>() >= 0 && v.get<double>() < 1)) {
    throw InputError(fmt::format("'dropout' must be a number in [0, 1), got {}", v.dump()));
  }
  return v.get<double>();
}

double wd_field(const Json& j) {
  const auto& v = j.at("wd");
  if (!v.is_number() || !(v.get<double>() >= 0) || !std::isfinite(v.get<double>())) {
    throw InputError(fmt::format("'wd' must be a finite number >= 0, got {}", v.dump()));
  }
  return v.get<double>();
}

RunConfig parse_run_config(const Json& j) {
  const auto format = j.at("format").get<std::string>();
  if (format != kFormat && format != kFormat1) {
    throw InputError(fmt::format("'format' is \"{}\"; this charnn reads \"{}\" and \"{}\"", format, kFormat, kFormat1));
  }
  RunConfig c;
  c.model.model = j.at("model").get<std::string>();
  c.model.identity_init = j.at("identity_init").get<bool>();
  const ModelSpec* spec = nullptr;
  try {
    spec = &find_model(c.model.model);
  } catch (const std::invalid_argument& e) {
    throw InputError(e.what());
  }
  if (c.model.identity_init && !spec->has_identity_init) {
    throw InputError(fmt::format("'identity_init' is true, but {} has no identity init", c.model.model));
  }
  c.model.vocab_size = integer_field(j, "vocab_size", 1);
  c.model.n_fac = integer_field(j, "n_fac", 1);
  c.model.n_hidden = integer_field(j, "n_hidden", 1);
  c.model.bs = integer_field(j, "model_bs", 1);
  c.model.nl = integer_field(j, "nl", 1, kMaxLayers);
  c.model.dropout = dropout_field(j);
  c.window = integer_field(j, "window", 0);
  for (const auto& f : j.at("schedule")) c.schedule.push_back(fit_call_from_json(f));
  check_schedule(c.schedule, "'schedule'");
  c.seed = unsigned_field(j, "seed");
  c.bs = integer_field(j, "bs", 1);
  c.text = j.at("text").get<std::string>();
  c.max_chars = integer_field(j, "max_chars", 0);
  c.text_digest = digest_field(j, "text_digest");
  c.trained_digest = digest_field(j, "trained_digest");
  c.shards = integer_field(j, "shards", 1, INT32_MAX);
  c.wd = wd_field(j);
  c.trn_lines = integer_field(j, "trn_lines", 0);
  c.trn_batches = integer_field(j.at("trn_dl"), "batches", 0);
  c.trn_rows = integer_field(j.at("trn_dl"), "rows", 0);
  if (format == kFormat) {
    c.optimizer = j.at("optimizer").get<std::string>();
    find_optimizer(c.optimizer);
    c.world_size = integer_field(j, "world_size", 1);
    c.backend = j.at("backend").get<std::string>();
    c.vocab = j.at("itos").get<std::vector<std::string>>();
  } else {
    c.vocab = vocab_field_v1(j, *spec);
  }
  if (static_cast<int64_t>(c.vocab.size()) != c.model.vocab_size) {
    throw InputError(fmt::format("vocab_size {} but {} vocabulary entries", c.model.vocab_size, c.vocab.size()));
  }
  return c;
}

}  // namespace

RunConfig read_run_config(const std::filesystem::path& dir) {
  const auto path = dir / kConfigFile;
  if (!std::filesystem::is_directory(dir)) {
    throw InputError(fmt::format("{}: not a run directory (no such directory)", dir.string()));
  }
  std::ifstream in(path);
  if (!in) throw InputError(fmt::format("{}: missing; is {} a charnn run directory?", path.string(), dir.string()));
  try {
    return parse_run_config(Json::parse(in));
  } catch (const nlohmann::json::exception& e) {
    throw InputError(fmt::format("{}: malformed ({})", path.string(), e.what()));
  } catch (const InputError& e) {
    throw InputError(fmt::format("{}: {}", path.string(), e.what()));
  }
}

}  // namespace charnn
