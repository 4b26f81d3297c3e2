#include "train/io/checkpoint.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string_view>
#include <vector>

#include "common/file.h"
#include "train/io/torch_archive.h"
#include "train/io/torch_save.h"
#include "train/io/zip_check.h"

namespace charnn {
namespace {

namespace fs = std::filesystem;

// A key read from a damaged file may hold control characters; the error must stay one line.
std::string printable(std::string_view key) {
  std::string out;
  for (unsigned char c : key) out += (c < 0x20 || c == 0x7f) ? fmt::format("\\x{:02x}", c) : std::string(1, char(c));
  return out;
}

// c10::Error's what() carries a C++ backtrace; the user needs only its first line.
std::string first_line(const char* message) {
  std::string s(message);
  return s.substr(0, s.find('\n'));
}

c10::IValue unpickle(const std::string& bytes, const fs::path& path) {
  try {
    return torch_load(bytes);
  } catch (const c10::Error& e) {
    throw InputError(fmt::format("{}: not a readable torch.save file ({})", path.string(),
                                 first_line(e.what_without_backtrace())));
  } catch (const std::exception& e) {
    throw InputError(fmt::format("{}: not a readable torch.save file ({})", path.string(), first_line(e.what())));
  }
}

// Parameters and buffers under their dotted names: exactly the keys of Python's state_dict().
torch::OrderedDict<std::string, at::Tensor> state_of(const torch::nn::Module& module) {
  auto state = module.named_parameters(/*recurse=*/true);
  for (const auto& item : module.named_buffers(/*recurse=*/true)) state.insert(item.key(), item.value());
  return state;
}

// The first difference between the file and the model, as one line; empty when they match.
std::string first_mismatch(const std::map<std::string, at::Tensor>& saved,
                           const torch::OrderedDict<std::string, at::Tensor>& expected, const fs::path& path) {
  for (const auto& item : expected) {
    const auto it = saved.find(item.key());
    if (it == saved.end()) {
      return fmt::format("{}: key '{}' is missing from the file (the model's is {})", path.string(),
                         item.key(), shape_string(item.value()));
    }
    if (!it->second.sizes().equals(item.value().sizes())) {
      return fmt::format("{}: key '{}' has shape {} in the file but {} in the model", path.string(),
                         item.key(), shape_string(it->second), shape_string(item.value()));
    }
  }
  for (const auto& [key, tensor] : saved) {
    if (!expected.contains(key)) {
      return fmt::format("{}: unexpected key '{}' of shape {} (the model has no such parameter)",
                         path.string(), printable(key), shape_string(tensor));
    }
  }
  return {};
}

}  // namespace

c10::IValue read_torch_file(const fs::path& path) {
  const auto bytes = read_whole_file(path, "a torch.save file");
  if (bytes.empty()) throw InputError(fmt::format("{}: the file is empty", path.string()));
  verify_zip_records(path, bytes);
  return unpickle(bytes, path);
}

std::map<std::string, at::Tensor> read_tensor_dict(const fs::path& path) {
  const auto value = read_torch_file(path);
  if (!value.isGenericDict()) {
    throw InputError(fmt::format("{}: expected a dict of tensors, found {}", path.string(), value.tagKind()));
  }
  std::map<std::string, at::Tensor> out;
  for (const auto& entry : value.toGenericDict()) {
    if (!entry.key().isString() || !entry.value().isTensor()) {
      throw InputError(fmt::format("{}: expected a dict of name -> tensor, found an entry {} -> {}",
                                   path.string(), entry.key().tagKind(), entry.value().tagKind()));
    }
    out.emplace(entry.key().toStringRef(), entry.value().toTensor());
  }
  return out;
}

void write_tensor_dict(const std::map<std::string, at::Tensor>& tensors, const fs::path& path) {
  c10::Dict<std::string, at::Tensor> dict;
  for (const auto& [key, tensor] : tensors) dict.insert(key, tensor);
  torch_save(c10::IValue(dict), path);
}

void save_state_dict(const torch::nn::Module& module, const fs::path& path) {
  c10::Dict<std::string, at::Tensor> dict;  // keeps the module's order, as Python's state_dict does
  for (const auto& item : state_of(module)) dict.insert(item.key(), item.value());
  torch_save(c10::IValue(dict), path, TorchSaveOptions{true});
}

void load_state_dict(torch::nn::Module& module, const fs::path& path) {
  const auto saved = read_tensor_dict(path);
  const auto expected = state_of(module);
  if (auto problem = first_mismatch(saved, expected, path); !problem.empty()) throw InputError(problem);
  torch::NoGradGuard no_grad;
  for (const auto& item : expected) item.value().copy_(saved.at(item.key()));
}

std::string shape_string(const at::Tensor& t) { return fmt::format("[{}]", fmt::join(t.sizes(), ", ")); }

}  // namespace charnn
