#pragma once
// Weights in the format Python uses: a torch.save'd dict {name: tensor}. A state_dict saved
// here opens with `torch.load(f)` and `model.load_state_dict(...)` in Python, and one that
// Python saved with `torch.save(model.state_dict(), f)` loads here.
#include <torch/torch.h>

#include <filesystem>
#include <map>
#include <string>

#include "common/error.h"

namespace charnn {

// Writes every parameter and buffer (as CPU tensors, so the file opens on any machine)
// under the names Python's state_dict() uses. The file appears complete or not at all:
// it is written beside the target, flushed to disk, then renamed over it.
void save_state_dict(const torch::nn::Module& module, const std::filesystem::path& path);

// Copies a saved state_dict into the module, strictly: a missing key, an unexpected key or
// a shape that differs throws InputError naming the file, the key and the shapes, before
// any parameter is touched.
void load_state_dict(torch::nn::Module& module, const std::filesystem::path& path);

// Any torch.save file of containers, numbers, strings and tensors (tensors on the CPU), its
// zip records checked first (train/io/zip_check.h). An unreadable, truncated or corrupt file
// throws InputError naming it.
c10::IValue read_torch_file(const std::filesystem::path& path);

// Any torch.save'd dict of tensors (a plain dict or an OrderedDict). An unreadable,
// truncated or corrupt file, or one holding something else, throws InputError naming it.
std::map<std::string, at::Tensor> read_tensor_dict(const std::filesystem::path& path);

// Writes tensors as a plain dict Python's torch.load reads; atomic like save_state_dict.
void write_tensor_dict(const std::map<std::string, at::Tensor>& tensors, const std::filesystem::path& path);

// "[2, 3]": a tensor's shape as the error messages about saved files print it.
std::string shape_string(const at::Tensor& t);

}  // namespace charnn
