#pragma once
// The Python reference (notebooks-ref/) seen from the tests: the files notebooks-ref/export.py
// wrote and its manifest lists, how to run the Python twin, and the max-abs-difference the
// parity tests report.
#include <catch2/catch.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <unistd.h>

#include "sha256.h"
#include "support.h"
#include "train/io/checkpoint.h"

namespace charnn::test {

// Every test that needs Python goes through here, so a build without a torch-capable
// interpreter fails these tests by name instead of skipping them silently.
inline void require_torch_python() {
  if (torch_python().empty()) {
    FAIL("CHARNN_TORCH_PYTHON is empty: CMake found no Python that can `import torch, numpy`, so the "
         "Python reference cannot run. Install python3-torch or configure with -DCHARNN_PYTHON=/path/to/python3.");
  }
}

// $CHARNN_REFERENCE_DIR, else where the python_reference CTest fixture writes.
inline std::filesystem::path reference_root() {
  if (const char* env = std::getenv("CHARNN_REFERENCE_DIR"); env && *env) return env;
  return CHARNN_BINARY_DIR "/reference";
}

// What writes the reference (or only `part` of it) again, for the messages below.
inline std::string export_command(std::string_view part = {}) {
  auto command = fmt::format("`ctest -R python_reference`, or {} {}/notebooks-ref/export.py --out {}", torch_python(),
                             CHARNN_SOURCE_DIR, reference_root().string());
  if (!part.empty()) command += fmt::format(" --only {}", part);
  return command;
}

// reference_root()/manifest.json: every file export.py wrote, with its part, size and sha256.
inline const nlohmann::json& reference_manifest() {
  require_torch_python();
  static const nlohmann::json manifest = [] {
    const auto path = reference_root() / "manifest.json";
    if (!std::filesystem::exists(path)) {
      FAIL(fmt::format("{} is missing: write the reference with {}", path.string(), export_command()));
    }
    return nlohmann::json::parse(std::ifstream(path));
  }();
  return manifest;
}

// The files whose sha256 this process has checked: each is hashed once.
inline std::set<std::string>& hash_checked() {
  static std::set<std::string> checked;
  return checked;
}

inline const nlohmann::json* manifest_entry(const std::string& relative) {
  for (const auto& entry : reference_manifest().at("files")) {
    if (entry.at("path").get<std::string>() == relative) return &entry;
  }
  return nullptr;
}

// Fails unless the file at `path` is the one the manifest's `entry` describes: the same size,
// and, the first time a process reads it, the same sha256.
inline void check_listed(const std::filesystem::path& path, const std::string& relative, const nlohmann::json& entry,
                         std::string_view part) {
  const auto size = entry.at("size").get<uintmax_t>();
  const auto sha256 = entry.at("sha256").get<std::string>();
  if (!std::filesystem::exists(path)) {
    FAIL(fmt::format("{} is missing (manifest.json lists it); write it again with {}", path.string(),
                     export_command(part)));
  }
  if (std::filesystem::file_size(path) != size || (!hash_checked().count(relative) && sha256_of_file(path) != sha256)) {
    FAIL(fmt::format("{} is not the file manifest.json lists ({} bytes, sha256 {}): a stale or half-written "
                     "reference; write it again with {}",
                     path.string(), size, sha256, export_command(part)));
  }
  hash_checked().insert(relative);
}

// The reference file `name` of `part` (reference_root()/part/name), once the manifest is found
// to list it and the file on disk to be the one listed; anything else fails naming the file and
// the command that writes it, rather than comparing against a stale or half-written file.
inline std::filesystem::path reference_file(std::string_view part, std::string_view name) {
  const auto relative = fmt::format("{}/{}", part, name);
  const auto path = reference_root() / relative;
  const auto* entry = manifest_entry(relative);
  if (entry == nullptr) {
    FAIL(fmt::format("{}: {}/manifest.json does not list it; write part '{}' with {}", path.string(),
                     reference_root().string(), part, export_command(part)));
  }
  check_listed(path, relative, *entry, part);
  return path;
}

// A JSON file of the reference, parsed once per process.
inline const nlohmann::json& reference_json(std::string_view part, std::string_view name) {
  static std::map<std::string, nlohmann::json> parsed;
  const auto key = fmt::format("{}/{}", part, name);
  if (!parsed.count(key)) parsed.emplace(key, nlohmann::json::parse(std::ifstream(reference_file(part, name))));
  return parsed.at(key);
}

// A torch.save'd dict of tensors of the reference.
inline std::map<std::string, at::Tensor> reference_tensors(std::string_view part, std::string_view name) {
  return read_tensor_dict(reference_file(part, name));
}

// Where an exporter lists what it wrote per model: the JSON file (part/file) whose "cases" each
// name their registry model in `model_field`, and the module whose CASES (or RUNS) they come from.
struct CaseList {
  std::string_view part, file, model_field, exporter;
};
inline constexpr CaseList kWindowedCases{"models", "reference.json", "model", "export_reference.py"};
inline constexpr CaseList kTrajectoryRuns{"trajectory", "runs.json", "model", "trajectory.py"};
inline constexpr CaseList kStatefulCases{"stateful", "stateful.json", "case", "export_stateful_reference.py"};
inline constexpr CaseList kStatefulTrajectoryRuns{"stateful_trajectory", "runs.json", "model", "stateful_trajectory.py"};
inline constexpr CaseList kGenerateCases{"generate", "generate.json", "case", "export_generate_reference.py"};

// The cases `list` holds for a registered model. None fails naming the model: each export must
// cover every registered model of its half, so a new model cannot pass by being left out.
inline std::vector<nlohmann::json> cases_of(const CaseList& list, std::string_view model) {
  std::vector<nlohmann::json> cases;
  for (const auto& c : reference_json(list.part, list.file).at("cases")) {
    if (c.at(std::string(list.model_field)).get<std::string>() == model) cases.push_back(c);
  }
  if (cases.empty()) {
    FAIL(fmt::format("{} is registered, but {}/{} has no case for it: add it to notebooks-ref/{} (and its class "
                     "to lesson6.py), then write part '{}' again with {}",
                     model, list.part, list.file, list.exporter, list.part, export_command(list.part)));
  }
  return cases;
}

// The bound the parity tests hold C++ to where LibTorch and PyTorch run the same kernels.
inline constexpr double kParityTolerance = 1e-6;

inline std::vector<int64_t> shape_of(const nlohmann::json& j) { return j.get<std::vector<int64_t>>(); }
inline std::vector<int64_t> shape_of(const at::Tensor& t) { return t.sizes().vec(); }

// Prints the figure, so that `ctest -V` shows how close the two languages are.
inline double report(const std::string& what, const std::string& test_case, double diff) {
  fmt::print("{:<24} {:<34} max |C++ - Python| = {:.3g}\n", test_case, what, diff);
  return diff;
}

inline double max_abs_diff(const at::Tensor& a, const at::Tensor& b) {
  REQUIRE(a.sizes() == b.sizes());
  if (a.numel() == 0) return 0.0;
  return (a.to(torch::kFloat64) - b.to(torch::kFloat64)).abs().max().item<double>();
}

inline std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

struct ProcessResult {
  int status;
  std::string output;  // stdout and stderr together
};

// Runs notebooks-ref/<script> with the torch-capable interpreter.
inline ProcessResult run_python(const std::string& script, const std::vector<std::string>& args) {
  require_torch_python();
  std::string cmd = shell_quote(torch_python()) + " " +
                    shell_quote((std::filesystem::path(CHARNN_SOURCE_DIR) / "notebooks-ref" / script).string());
  for (const auto& a : args) {
    cmd += ' ';
    cmd += shell_quote(a);
  }
  cmd += " 2>&1";
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(::popen(cmd.c_str(), "r"), ::pclose);
  REQUIRE(pipe);
  ProcessResult result{0, {}};
  std::array<char, 4096> buf{};
  while (auto n = std::fread(buf.data(), 1, buf.size(), pipe.get())) result.output.append(buf.data(), n);
  result.status = ::pclose(pipe.release());
  return result;
}

// A fresh directory per test, removed at the end, so parallel ctest runs never share files.
class TempDir {
 public:
  explicit TempDir(const std::string& name)
      : path_(std::filesystem::temp_directory_path() / fmt::format("charnn_{}_{}", name, ::getpid())) {
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

}  // namespace charnn::test
