#include "core/pii.h"

#include <string>

#include "gtest/gtest.h"

namespace idgate {
namespace {

using ::idgate::v1::PII_FIELD_BANK_CARD_NUMBER;
using ::idgate::v1::PII_FIELD_ID_NUMBER;
using ::idgate::v1::PII_FIELD_MOBILE;
using ::idgate::v1::PII_FIELD_NAME;
using ::idgate::v1::PII_FORM_PLAIN;
using ::idgate::v1::PII_FORM_SHA256;
using ::idgate::v1::PII_FORM_SM3;

TEST(MinimizedSubjectTest, HoldsOnlyAllowedPairsInTheAllowedForm) {
  PersonalValues values = {{PII_FIELD_NAME, "测试甲"},
                           {PII_FIELD_ID_NUMBER, "11010519491231002X"},
                           {PII_FIELD_MOBILE, "13800138000"}};
  auto subject = MinimizedSubject::Minimize(
      values, {{PII_FIELD_NAME, PII_FORM_SHA256},
               {PII_FIELD_ID_NUMBER, PII_FORM_SM3},
               {PII_FIELD_BANK_CARD_NUMBER, PII_FORM_PLAIN}});
  EXPECT_EQ(subject.values().size(), 2u);  // the card is allowed but absent
  EXPECT_FALSE(subject.Get(PII_FIELD_NAME, PII_FORM_PLAIN).has_value());
  EXPECT_FALSE(subject.Get(PII_FIELD_MOBILE, PII_FORM_PLAIN).has_value());
  // SHA-256("测试甲") and SM3 of the ID, as lowercase hex; no plain value
  // inside.
  auto name = subject.Get(PII_FIELD_NAME, PII_FORM_SHA256);
  ASSERT_TRUE(name.has_value());
  EXPECT_EQ(name->size(), 64u);
  EXPECT_EQ(std::string(*name).find("测试甲"), std::string::npos);
  auto id = subject.Get(PII_FIELD_ID_NUMBER, PII_FORM_SM3);
  ASSERT_TRUE(id.has_value());
  EXPECT_EQ(id->size(), 64u);
  EXPECT_NE(*name, *id);
}

}  // namespace
}  // namespace idgate
