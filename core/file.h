#pragma once

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace idgate {

// Reads a whole file. Errors name the path and errno, never the content.
absl::StatusOr<std::string> ReadFileToString(const std::string& path);

// At most `max_bytes` of a file from `offset` (fewer at its end).
absl::StatusOr<std::string> ReadFileRange(const std::string& path,
                                          uint64_t offset, size_t max_bytes);

// Safe as one path component made from a name someone else chose (a
// ledger's name as a mirror's folder): 1 to 64 of [A-Za-z0-9._-], not "."
// or "..".
bool IsPlainFileName(absl::string_view name);

// absl::Status for a failed system call: "<what>: <strerror>" with a code
// that follows errno (NOT_FOUND, PERMISSION_DENIED, ..., else INTERNAL).
absl::Status ErrnoStatus(int error_number, absl::string_view what);

}  // namespace idgate
