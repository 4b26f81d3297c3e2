#pragma once
// The one way the project reads a file whole: the corpus, checkpoints, config.json.
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

namespace charnn {

// A bound on what one read takes, far above any real corpus or checkpoint of the lesson, and
// far below memory: a damaged size or a huge file ends in an error, not in an exhausted machine.
constexpr uint64_t kMaxFileBytes = uint64_t{1} << 30;

// Reads a regular file (a link to one is followed). Every failure is an InputError naming the
// path and saying what was expected (`what`, e.g. "a UTF-8 text file"): missing, a directory or
// a device, unreadable, or larger than max_bytes. An empty file is returned empty: what that
// means is the caller's to say.
std::string read_whole_file(const std::filesystem::path& path, std::string_view what,
                            uint64_t max_bytes = kMaxFileBytes);

// The first max_bytes bytes of a regular file (all of it when it is shorter), with the same
// errors: for readers that need only the start of a large file.
std::string read_file_prefix(const std::filesystem::path& path, std::string_view what, uint64_t max_bytes);

}  // namespace charnn
