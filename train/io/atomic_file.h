#pragma once
// Files a crash must never leave half-written: write a temp file beside the target,
// flush, fsync, rename over the target, fsync the directory.
#include <filesystem>
#include <string_view>

namespace charnn {

void write_file_atomically(const std::filesystem::path& path, std::string_view bytes);

// rename(2), then fsync of the directory so that the new name survives a crash.
void rename_atomically(const std::filesystem::path& from, const std::filesystem::path& to);

// Removes the temp files a write killed before its rename leaves in dir.
void remove_stale_temp_files(const std::filesystem::path& dir);

}  // namespace charnn
