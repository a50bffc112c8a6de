#pragma once

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace idgate {

// Reads a whole file. Errors name the path and errno, never the content.
absl::StatusOr<std::string> ReadFileToString(const std::string& path);

// absl::Status for a failed system call: "<what>: <strerror>" with a code
// that follows errno (NOT_FOUND, PERMISSION_DENIED, ..., else INTERNAL).
absl::Status ErrnoStatus(int error_number, absl::string_view what);

}  // namespace idgate
