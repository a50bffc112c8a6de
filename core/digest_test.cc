#include "core/digest.h"

#include "gtest/gtest.h"

namespace idgate {
namespace {

TEST(DigestTest, Sha256KnownVectors) {
  EXPECT_EQ(Sha256Hex(""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Sha256Hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

// GB/T 32905-2016 appendix A, example 1, and the empty message.
TEST(DigestTest, Sm3KnownVectors) {
  EXPECT_EQ(Sm3Hex("abc"),
            "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0");
  EXPECT_EQ(Sm3Hex(""),
            "1ab21d8355cfa17f8e61194831e81a8f22bec8c728fefb747ed035eb5082aa2b");
}

TEST(DigestTest, HashesUtf8Bytes) {
  EXPECT_EQ(Sha256Hex("测试甲").size(), 64u);
  EXPECT_NE(Sha256Hex("测试甲"), Sha256Hex("测试乙"));
  EXPECT_NE(Sm3Hex("测试甲"), Sha256Hex("测试甲"));
}

}  // namespace
}  // namespace idgate
