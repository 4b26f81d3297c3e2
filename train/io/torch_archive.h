#pragma once
// The zip archive of torch.save, both ways. The one file of the project that uses LibTorch's
// internal serialization headers (caffe2::serialize's zip reader and writer, the TorchScript
// unpickler): no public API reads a Python pickle or writes a torch.save archive.
//
// Reading: Python's torch.load for files of plain containers and tensors.
// torch::pickle_load alone cannot open the most common Python file there is,
// `torch.save(model.state_dict(), f)`: LibTorch 1.13's unpickler turns every
// collections.OrderedDict into None, rejects BUILD on a dict (the state_dict's `_metadata`
// attribute) and does not know the SETITEM opcode Python uses for one-entry dicts. So the
// pickle is first rewritten into the plain-dict pickle LibTorch does read (see
// plain_dict_pickle), and then unpickled by LibTorch's own unpickler.
#include <torch/torch.h>

#include <string>
#include <string_view>
#include <vector>

namespace charnn {

// The zip archive torch.save writes (and torch::pickle_save). Tensors come back on the CPU,
// whatever device they were saved from, each checked to lie within the bytes stored for it.
// Throws (c10::Error or std::exception) on anything it cannot read; the caller names the file.
c10::IValue torch_load(const std::string& archive);

// Rewrites a protocol-2 pickle so that
//   OrderedDict()              becomes a plain empty dict,
//   key value SETITEM          becomes MARK key value SETITEMS, and
//   a dict's BUILD(state)      is dropped together with its state (a state_dict's _metadata).
// Throws std::invalid_argument, naming the byte, for an opcode LibTorch's unpickler does not
// know, a length or memo index out of bounds, or a pickle that stops short.
std::string plain_dict_pickle(std::string_view pickle);

// Writing: a torch.save archive around a pickle (train/io/torch_save.h makes it) and the raw
// bytes of the storages it names as persistent ids ('storage', type, key, 'cpu', numel).
struct StorageRecord {
  std::string key;     // the pickle's storage key: the record is data/<key>
  at::Tensor storage;  // contiguous, on the CPU; its bytes are written as they are
};
std::string torch_archive(std::string_view pickle, const std::vector<StorageRecord>& storages);

// The CRC-32 of a compressed record's content, inflated by LibTorch's own reader (`name` as the
// zip directory has it, with the archive's top folder).
uint32_t crc32_of_inflated_record(const std::string& archive, const std::string& name);

}  // namespace charnn
