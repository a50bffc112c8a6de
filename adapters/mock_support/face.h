#pragma once

#include <string>

#include "absl/strings/string_view.h"

namespace idgate {

// The test-face convention shared by every face mock and the identity book:
// a test image "shows" the face whose identity is the lowercase hex SHA-256
// of the image bytes before the first "#LIVENESS:" marker (all bytes when
// there is none). The same face with "#LIVENESS:FAIL" appended is therefore
// a spoof of that person: the face matches but liveness fails.
inline constexpr absl::string_view kLivenessMarker = "#LIVENESS:";
inline constexpr absl::string_view kLivenessFailMarker = "#LIVENESS:FAIL";

// The face identity of `image`.
std::string FaceDigest(absl::string_view image);

// True when "#LIVENESS:FAIL" occurs anywhere in `bytes` (an image or a
// liveness video).
bool LivenessFails(absl::string_view bytes);

// The similarity a face engine reports for an image of `face` (FaceDigest)
// against the ID photo of `photo`: [92, 99) for the same face, [5, 39),
// below any sensible threshold, for another; deterministic per pair, as a
// real engine's would be.
double FaceScore(absl::string_view face, absl::string_view photo);

}  // namespace idgate
