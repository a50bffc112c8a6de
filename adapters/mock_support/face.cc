#include "adapters/mock_support/face.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "core/digest.h"

namespace idgate {
namespace {

// A number in [0, 1) from the first 8 hex digits of a digest.
double Fraction(absl::string_view hex_digest) {
  return static_cast<double>(
             std::stoul(std::string(hex_digest.substr(0, 8)), nullptr, 16)) /
         4294967296.0;
}

}  // namespace

std::string FaceDigest(absl::string_view image) {
  const size_t marker = image.find(kLivenessMarker);
  return Sha256Hex(image.substr(0, marker));  // npos keeps everything
}

bool LivenessFails(absl::string_view bytes) {
  return bytes.find(kLivenessFailMarker) != absl::string_view::npos;
}

double FaceScore(absl::string_view face, absl::string_view photo) {
  if (face == photo) return 92 + 7 * Fraction(face);
  return 5 + 34 * Fraction(Sha256Hex(absl::StrCat(face, photo)));
}

}  // namespace idgate
