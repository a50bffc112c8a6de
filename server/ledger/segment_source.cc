#include "server/ledger/segment_source.h"

#include <utility>

#include "absl/status/status.h"
#include "server/ledger/segment_sink.h"

namespace idgate {
namespace {

class MemorySegmentSource final : public SegmentSource {
 public:
  explicit MemorySegmentSource(std::map<std::string, std::string> files)
      : files_(std::move(files)) {}

  absl::StatusOr<std::vector<std::string>> List() override {
    std::vector<std::string> names;
    for (const auto& [name, data] : files_) names.push_back(name);
    return names;
  }

  absl::StatusOr<std::string> Read(const std::string& name) override {
    auto it = files_.find(name);
    if (it == files_.end()) return absl::NotFoundError(name);
    return it->second;
  }

 private:
  std::map<std::string, std::string> files_;
};

}  // namespace

absl::StatusOr<std::string> SegmentSource::ReadPrefix(const std::string& name,
                                                      uint64_t max_bytes) {
  absl::StatusOr<std::string> data = Read(name);
  if (data.ok() && data->size() > max_bytes) data->resize(max_bytes);
  return data;
}

absl::StatusOr<std::unique_ptr<SegmentSource>> DirectorySource(
    const std::string& dir) {
  absl::StatusOr<std::unique_ptr<SegmentSink>> sink =
      NewPosixSegmentSink(dir, SinkMode::kReader);
  if (!sink.ok()) return sink.status();
  return std::unique_ptr<SegmentSource>(*std::move(sink));
}

std::unique_ptr<SegmentSource> MemorySource(
    std::map<std::string, std::string> files) {
  return std::make_unique<MemorySegmentSource>(std::move(files));
}

}  // namespace idgate
