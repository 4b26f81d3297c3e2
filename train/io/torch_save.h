#pragma once
// Python's torch.save, for the values a checkpoint holds: dicts, lists, tuples, strings,
// numbers, booleans, None and tensors. The pickle is the one Python writes (protocol 2,
// tensors through torch._utils._rebuild_tensor_v2 and torch.<Type>Storage), so the file
// opens with a plain `torch.load(path)` under PyTorch >= 2.6's default weights_only=True, and
// with `torch.load(path, weights_only=True)` on 1.13. LibTorch's own torch::pickle_save tags
// its containers with torch.jit._pickle.restore_type_tag, which weights_only refuses.
#include <torch/torch.h>

#include <filesystem>
#include <string>

namespace charnn {

struct TorchSaveOptions {
  // Write the outermost dict as collections.OrderedDict, as Python's state_dict() is.
  bool ordered_top_level = false;
};

// The bytes of the archive. Tensors are written from CPU copies, so a file saved from a GPU
// run opens anywhere. Throws std::invalid_argument for a value it cannot write.
std::string torch_save(const c10::IValue& value, const TorchSaveOptions& options = {});

// torch_save into path, atomically (train/io/atomic_file.h).
void torch_save(const c10::IValue& value, const std::filesystem::path& path, const TorchSaveOptions& options = {});

}  // namespace charnn
