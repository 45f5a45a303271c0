// Whole-file reads and writes with errors as values.
#pragma once

#include "polc/support/expected.h"

#include <cstddef>
#include <filesystem>
#include <initializer_list>
#include <string>
#include <string_view>

namespace polc {

// Every file polc reads (policies, includes, topologies, artifacts, state)
// must be a regular file of at most this many bytes: a FIFO would block, a
// device like /dev/zero would never end (docs/cli.md, "Limits").
inline constexpr size_t kMaxReadBytes = size_t{128} << 20;

// The string's capacity exceeds the file by at least kReadFilePadding bytes.
inline constexpr size_t kReadFilePadding = 64;
// Reads a regular file of at most maxBytes; anything else is an error that
// says what the file was.
Expected<std::string> readFile(const std::filesystem::path& path, size_t maxBytes = kMaxReadBytes);
// The same for `relative` below the directory open at directoryFd, resolved
// with openat2(RESOLVE_BENEATH): a "..", an absolute path or a symlink that
// leads outside the directory is refused. `shownAs` names the file in errors.
Expected<std::string> readFileBeneath(int directoryFd, const std::string& relative,
                                      const std::filesystem::path& shownAs,
                                      size_t maxBytes = kMaxReadBytes);
// Whether `relative` (resolved as readFileBeneath does) does not exist.
bool missingBeneath(int directoryFd, const std::string& relative);
// How lasting a write is. Durable: the file and then its directory are
// fsynced, so that after a crash or power loss the file holds its old or its
// new contents, never a prefix of them. Unsynced skips both: for output that
// is checked when read (a build's files, by their manifest digests), where
// an fsync per file would dominate the build.
enum class FileSync { Durable, Unsynced };
// Writes to a temporary beside the file, checking every step (write, fsync,
// close), then renames it over the file: readers never see half a file, and
// a failure (a full disk) leaves the file as it was, removes the temporary
// and says which step failed and why (errno).
Status writeFile(const std::filesystem::path& path, std::string_view contents,
                 FileSync sync = FileSync::Durable);
// The same for a file written in pieces, one after the other.
Status writeFile(const std::filesystem::path& path, std::initializer_list<std::string_view> pieces,
                 FileSync sync = FileSync::Durable);

} // namespace polc
