#pragma once
// Integrity of the zip archives torch.save and torch::serialize::OutputArchive write
// (model.pt, train_state.pt), which LibTorch's reader does not check: its miniz skips the
// CRC-32s, and it trusts the directory's record names. A flipped byte in tensor data then
// loads as a wrong weight, and a damaged name can make the TorchScript importer throw
// through a noexcept frame (std::terminate) instead of reporting an error.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>

namespace charnn {

// Checks every record: its name in the central directory matches its local header, and its
// CRC-32 matches its content (decompressed where it is compressed). The directory is found as
// LibTorch's reader finds it (zip64 end record first), and one that holds fewer entries than
// it declares is damage too. Throws InputError naming the file and the record. A file with no
// end record at all is left to LibTorch's reader to reject.
void verify_zip_records(const std::filesystem::path& path, const std::string& bytes);

}  // namespace charnn
