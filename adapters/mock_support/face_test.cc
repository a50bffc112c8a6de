#include "adapters/mock_support/face.h"

#include "core/digest.h"
#include "gtest/gtest.h"

namespace idgate {
namespace {

TEST(FaceTest, DigestOfWholeImageWithoutMarker) {
  const std::string image = "\xff\xd8\xff\xe0 face:a";
  EXPECT_EQ(FaceDigest(image), Sha256Hex(image));
  EXPECT_FALSE(LivenessFails(image));
}

TEST(FaceTest, SpoofKeepsTheFaceButFailsLiveness) {
  const std::string image = "\xff\xd8\xff\xe0 face:a";
  const std::string spoof = image + "#LIVENESS:FAIL";
  EXPECT_EQ(FaceDigest(spoof), FaceDigest(image));
  EXPECT_TRUE(LivenessFails(spoof));
}

TEST(FaceTest, OnlyTheFailMarkerFailsLiveness) {
  const std::string image = "face:b";
  EXPECT_EQ(FaceDigest(image + "#LIVENESS:PASS"), FaceDigest(image));
  EXPECT_FALSE(LivenessFails(image + "#LIVENESS:PASS"));
  EXPECT_TRUE(LivenessFails("video...#LIVENESS:FAIL...more"));
}

TEST(FaceTest, DigestStopsAtFirstMarker) {
  EXPECT_EQ(FaceDigest("x#LIVENESS:PASS#LIVENESS:FAIL"), Sha256Hex("x"));
  EXPECT_EQ(FaceDigest(std::string("a\0b", 3)),
            Sha256Hex(std::string("a\0b", 3)));
}

TEST(FaceTest, ScoresSeparateTheSameFaceFromAnother) {
  const std::string a = FaceDigest("face:a"), b = FaceDigest("face:b");
  EXPECT_GE(FaceScore(a, a), 92);
  EXPECT_LT(FaceScore(a, a), 99);
  EXPECT_GE(FaceScore(a, b), 5);
  EXPECT_LT(FaceScore(a, b), 39);
  EXPECT_EQ(FaceScore(a, b), FaceScore(a, b));
}

}  // namespace
}  // namespace idgate
