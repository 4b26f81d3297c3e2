#include "train/run_config.h"

#include <fmt/format.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "train/atomic_file.h"

namespace charnn {

std::string to_json(const RunConfig& c) {
  nlohmann::json schedule = nlohmann::json::array();
  for (const auto& f : c.schedule) schedule.push_back({{"epochs", f.epochs}, {"lr", f.lr}});
  std::vector<uint32_t> vocab(c.vocab.begin(), c.vocab.end());
  const nlohmann::json j = {
      {"format", "charnn-run/1"},
      {"model", c.model.model},
      {"vocab_size", c.model.vocab_size},
      {"n_fac", c.model.n_fac},
      {"n_hidden", c.model.n_hidden},
      {"identity_init", c.model.identity_init},
      {"window", c.window},
      {"schedule", schedule},
      {"seed", c.seed},
      {"bs", c.bs},
      {"text", c.text},
      {"max_chars", c.max_chars},
      {"shards", c.shards},
      {"vocab_code_points", vocab},
      // The same vocabulary as a string, for people reading the file.
      {"vocab", encode_utf8(std::u32string(c.vocab.begin() + (c.vocab.empty() ? 0 : 1), c.vocab.end()))},
  };
  return j.dump(2) + "\n";
}

void write_run_config(const std::filesystem::path& dir, const RunConfig& config) {
  write_file_atomically(dir / kConfigFile, to_json(config));
}

RunConfig read_run_config(const std::filesystem::path& dir) {
  const auto path = dir / kConfigFile;
  if (!std::filesystem::is_directory(dir)) {
    throw InputError(fmt::format("{}: not a run directory (no such directory)", dir.string()));
  }
  std::ifstream in(path);
  if (!in) throw InputError(fmt::format("{}: missing; is {} a charnn run directory?", path.string(), dir.string()));
  try {
    const auto j = nlohmann::json::parse(in);
    RunConfig c;
    c.model.model = j.at("model").get<std::string>();
    c.model.vocab_size = j.at("vocab_size").get<int64_t>();
    c.model.n_fac = j.at("n_fac").get<int64_t>();
    c.model.n_hidden = j.at("n_hidden").get<int64_t>();
    c.model.identity_init = j.at("identity_init").get<bool>();
    c.window = j.at("window").get<int64_t>();
    for (const auto& f : j.at("schedule")) c.schedule.push_back({f.at("epochs").get<int64_t>(), f.at("lr").get<double>()});
    c.seed = j.at("seed").get<uint64_t>();
    c.bs = j.at("bs").get<int64_t>();
    c.text = j.at("text").get<std::string>();
    c.max_chars = j.at("max_chars").get<int64_t>();
    c.shards = j.value("shards", int64_t{1});  // runs saved before sharding trained plainly
    if (c.shards < 1) throw InputError(fmt::format("{}: shards must be >= 1, got {}", path.string(), c.shards));
    for (auto cp : j.at("vocab_code_points").get<std::vector<uint32_t>>()) c.vocab.push_back(cp);
    if (static_cast<int64_t>(c.vocab.size()) != c.model.vocab_size) {
      throw InputError(fmt::format("{}: vocab_size {} but {} vocabulary entries", path.string(),
                                   c.model.vocab_size, c.vocab.size()));
    }
    return c;
  } catch (const nlohmann::json::exception& e) {
    throw InputError(fmt::format("{}: malformed ({})", path.string(), e.what()));
  }
}

}  // namespace charnn
