#include "adapters/mock_support/formats.h"

#include "gtest/gtest.h"

namespace idgate {
namespace mock {
namespace {

TEST(FormatsTest, ResidentIdCheckCharacter) {
  // The GB 11643-1999 standard's own example.
  EXPECT_EQ(ResidentIdCheckChar("11010519491231002"), 'X');
  EXPECT_TRUE(IsValidResidentId("11010519491231002X"));
  EXPECT_FALSE(IsValidResidentId("11010519491231002x"));  // not normalized
  EXPECT_FALSE(IsValidResidentId("110105194912310021"));  // wrong check
  EXPECT_EQ(ResidentIdCheckChar("1101051949123100"), '\0');
}

TEST(FormatsTest, ResidentIdStructure) {
  EXPECT_FALSE(IsValidResidentId("110105490101002"));     // 15-digit legacy
  EXPECT_FALSE(IsValidResidentId("99010519491231002X"));  // no province 99
  // Feb 30 does not exist.
  const std::string first17 = "11010519900230001";
  EXPECT_FALSE(IsValidResidentId(first17 + ResidentIdCheckChar(first17)));
  const std::string leap = "11010520000229001";
  EXPECT_TRUE(IsValidResidentId(leap + ResidentIdCheckChar(leap)));
  EXPECT_EQ(*ResidentIdBirthDate(leap + "0"), absl::CivilDay(2000, 2, 29));
}

TEST(FormatsTest, Mobile) {
  EXPECT_TRUE(IsValidMobile("13800000001"));
  EXPECT_TRUE(IsValidMobile("19900000000"));
  EXPECT_FALSE(IsValidMobile("12800000001"));
  EXPECT_FALSE(IsValidMobile("1380000000"));
  EXPECT_FALSE(IsValidMobile("+8613800000001"));
  EXPECT_FALSE(IsValidMobile("1380000000a"));
}

TEST(FormatsTest, CardLuhn) {
  EXPECT_TRUE(IsValidCardNumber("4111111111111111"));
  EXPECT_FALSE(IsValidCardNumber("4111111111111112"));
  EXPECT_FALSE(IsValidCardNumber("000000000000000"));
  EXPECT_FALSE(IsValidCardNumber("41111111111111"));  // 14 digits
  EXPECT_FALSE(IsValidCardNumber("41111111111111111111"));
}

TEST(FormatsTest, Name) {
  EXPECT_TRUE(IsValidName("测试甲"));
  EXPECT_TRUE(IsValidName("阿依古丽·测试"));
  EXPECT_TRUE(IsValidName("Anna Test"));
  EXPECT_FALSE(IsValidName(""));
  EXPECT_FALSE(IsValidName("  "));
  EXPECT_FALSE(IsValidName("测\n试"));
  EXPECT_FALSE(IsValidName("\xe6\xb5"));  // truncated UTF-8
  EXPECT_FALSE(IsValidName("\xc0\xaf"));  // overlong
  EXPECT_FALSE(IsValidName(std::string(65, 'a')));
  EXPECT_TRUE(IsValidName(std::string(64, 'a')));
}

TEST(FormatsTest, HexDigest) {
  EXPECT_TRUE(IsHexDigest(std::string(64, 'a')));
  EXPECT_FALSE(IsHexDigest(std::string(64, 'A')));
  EXPECT_FALSE(IsHexDigest(std::string(63, 'a')));
}

}  // namespace
}  // namespace mock
}  // namespace idgate
