#include "adapters/mock_support/face.h"

#include "core/digest.h"

namespace idgate {

std::string FaceDigest(absl::string_view image) {
  const size_t marker = image.find(kLivenessMarker);
  return Sha256Hex(image.substr(0, marker));  // npos keeps everything
}

bool LivenessFails(absl::string_view bytes) {
  return bytes.find(kLivenessFailMarker) != absl::string_view::npos;
}

}  // namespace idgate
