#pragma once
// Python's torch.load for files of plain containers and tensors, as LibTorch can read them.
//
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
c10::IValue torch_load(const std::vector<char>& archive);

// Rewrites a protocol-2 pickle so that
//   OrderedDict()              becomes a plain empty dict,
//   key value SETITEM          becomes MARK key value SETITEMS, and
//   a dict's BUILD(state)      is dropped together with its state (a state_dict's _metadata).
// Throws std::invalid_argument, naming the byte, for an opcode LibTorch's unpickler does not
// know, a length or memo index out of bounds, or a pickle that stops short.
std::string plain_dict_pickle(std::string_view pickle);

}  // namespace charnn
