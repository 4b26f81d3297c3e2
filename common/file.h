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

// What tells one text from another on resume (not a security property): the byte length and
// the 64-bit FNV-1a hash of the bytes.
struct Digest {
  uint64_t bytes = 0;
  uint64_t fnv1a = 0;
  bool operator==(const Digest& o) const { return bytes == o.bytes && fnv1a == o.fnv1a; }
  bool operator!=(const Digest& o) const { return !(*this == o); }
};
Digest digest_of(std::string_view bytes);
// A file's digest, read in blocks so that a file of any size takes no more memory than one;
// the same errors as read_whole_file.
Digest digest_file(const std::filesystem::path& path, std::string_view what);

}  // namespace charnn
