#pragma once

// The file operations of the ledger, behind an interface so that tests can
// inject write and sync failures and observe their order.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "server/ledger/segment_source.h"

namespace idgate {

// One segment file open for appending.
class SegmentFile {
 public:
  virtual ~SegmentFile() = default;

  // Writes all of `data` after what was appended before (at first, after
  // the file's size when opened). The file may grow ahead in zeros.
  virtual absl::Status Append(absl::string_view data) = 0;

  // fdatasync(2). After a failure the durable state of the file is unknown
  // (the kernel may have dropped the dirty pages and cleared the error), so
  // callers must treat it as fatal and never retry.
  virtual absl::Status Sync() = 0;

  // Cuts the zeros grown ahead, if any, and makes the size durable: for a
  // segment that will get no more records.
  virtual absl::Status Seal() { return absl::OkStatus(); }
};

// A directory of segment files: a SegmentSource that can also be written.
// List() names all regular files in the directory, sorted.
class SegmentSink : public SegmentSource {
 public:
  // Opens `name` for appending; with `create`, creates it and fails if it
  // already exists. A created file is durable only after SyncDir().
  virtual absl::StatusOr<std::unique_ptr<SegmentFile>> OpenForAppend(
      const std::string& name, bool create) = 0;

  // Shortens `name` to `size` bytes, durably.
  virtual absl::Status Truncate(const std::string& name, uint64_t size) = 0;

  // fsync(2) of the directory, making created files durable.
  virtual absl::Status SyncDir() = 0;

  // For retention (retention.h). A sink without them never prunes: the
  // defaults fail UNIMPLEMENTED, except FileSize, which reads the file.
  //
  // The file's size in bytes.
  virtual absl::StatusOr<uint64_t> FileSize(const std::string& name);
  // Replaces `name` with `data` so that a crash leaves the old file or the
  // new one, never a mix: writes a temporary file, fsyncs it, renames it
  // over `name`, fsyncs the directory.
  virtual absl::Status ReplaceFile(const std::string& name,
                                   absl::string_view data);
  // Removes `name` (already gone is no error); durable after SyncDir().
  virtual absl::Status Remove(const std::string& name);
};

enum class SinkMode {
  // Reading (idgate-audit): the directory must exist; no lock is taken.
  kReader,
  // The ledger's writer: creates the directory if missing (mode 0750, not
  // its parents) and holds an exclusive flock(2) on it for the sink's
  // lifetime, so that a second process (say, during a rolling update on a
  // shared volume) cannot interleave appends and break the chain.
  kWriter,
};

// A SegmentSink over a directory of the local file system.
absl::StatusOr<std::unique_ptr<SegmentSink>> NewPosixSegmentSink(
    const std::string& dir, SinkMode mode);

}  // namespace idgate
