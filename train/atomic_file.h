#pragma once
// Files a crash must never leave half-written: write a temp file beside the target,
// flush, fsync, rename over the target, fsync the directory.
#include <filesystem>
#include <string_view>

namespace charnn {

void write_file_atomically(const std::filesystem::path& path, std::string_view bytes);

}  // namespace charnn
