#pragma once

// Where the ledger's segment files are read from. The ledger scan
// (ledger_scan.h) takes its bytes from a SegmentSource and does no I/O of
// its own, so one scan serves the gateway (its SegmentSink is a source),
// idgate-audit (a directory, read only), and tests and fuzzing (memory).

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace idgate {

class SegmentSource {
 public:
  virtual ~SegmentSource() = default;
  // All file names, in any order; names that are not segments are ignored.
  virtual absl::StatusOr<std::vector<std::string>> List() = 0;
  virtual absl::StatusOr<std::string> Read(const std::string& name) = 0;
  // At most the first `max_bytes` of the file: for a segment's first record
  // without reading the whole segment.
  virtual absl::StatusOr<std::string> ReadPrefix(const std::string& name,
                                                 uint64_t max_bytes);
};

// Reads a ledger directory (never creates or changes it, takes no lock).
absl::StatusOr<std::unique_ptr<SegmentSource>> DirectorySource(
    const std::string& dir);

// Serves the given {name: bytes} (tests, fuzzing).
std::unique_ptr<SegmentSource> MemorySource(
    std::map<std::string, std::string> files);

}  // namespace idgate
