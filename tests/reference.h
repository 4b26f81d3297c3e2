#pragma once
// The Python reference (notebooks-ref/) seen from the tests: where export_reference.py wrote
// its files, how to run the Python twin, and the max-abs-difference the parity tests report.
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
#include <string>
#include <vector>

#include <unistd.h>

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
inline std::filesystem::path reference_dir() {
  require_torch_python();
  std::filesystem::path dir = CHARNN_BINARY_DIR "/reference";
  if (const char* env = std::getenv("CHARNN_REFERENCE_DIR"); env && *env) dir = env;
  if (!std::filesystem::exists(dir / "reference.json")) {
    FAIL(fmt::format("{}/reference.json is missing: run `ctest -R python_reference` (or {} "
                     "notebooks-ref/export_reference.py --out {}) first",
                     dir.string(), torch_python(), dir.string()));
  }
  return dir;
}

inline const nlohmann::json& reference_manifest() {
  static const nlohmann::json manifest = nlohmann::json::parse(std::ifstream(reference_dir() / "reference.json"));
  return manifest;
}

inline std::map<std::string, at::Tensor> reference_file(const nlohmann::json& test_case, const char* kind) {
  return read_tensor_dict(reference_dir() / test_case["files"][kind].get<std::string>());
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
