// Invariant I4 for this module: no submitted value ever appears in a status
// message or payload. Every validator runs on inputs carrying a canary; the
// canary must never come back, and every message must be made of rule names
// and field paths only.

#include <functional>
#include <string>
#include <vector>

#include "absl/strings/cord.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "server/identity/masking.h"
#include "server/identity/request_validator.h"
#include "server/identity/testing/id_numbers.h"
#include "server/identity/validators.h"

namespace idgate::identity {
namespace {

namespace v1 = ::idgate::v1;
using ::idgate::identity::testing::MakeIdNumber;
using ::idgate::identity::testing::WithWrongCheckCharacter;

constexpr char kCanary[] = "CANARYq7Zx";
// For numeric fields: a digit run that appears in no rule name or path.
constexpr char kDigitCanary[] = "97315";

const absl::Time kNow = absl::FromUnixSeconds(1749960000);  // 2025-06-15

// Inputs that reach every rule of the numeric and text validators, each
// carrying a canary somewhere.
std::vector<std::string> CanaryInputs() {
  const std::string id = "11010519491231002X";
  return {
      kCanary,
      absl::StrCat(kCanary, id),
      absl::StrCat(id, kCanary),
      absl::StrCat("+86", kCanary),
      absl::StrCat("张", kCanary, "三"),
      absl::StrCat(kCanary, "\xE2\x80\xAE"),
      absl::StrCat(kCanary, "\xFF"),
      absl::StrCat(kDigitCanary, kDigitCanary, kDigitCanary, "123"),  // 18
      absl::StrCat("11", kDigitCanary, "19900101", "12", "X"),        // 18
      // Valid shape, wrong check digit; the canary sits in the region code.
      WithWrongCheckCharacter(MakeIdNumber(
          "11" + std::string(kDigitCanary).substr(0, 4), "19900101", "123")),
      MakeIdNumber(absl::StrCat("11", "9731"), "20991231", "123"),
      absl::StrCat("1", kDigitCanary, "12345"),       // 11: mobile-shaped
      absl::StrCat("12", kDigitCanary, "1234"),       // 11: format
      absl::StrCat("411111", kDigitCanary, "11112"),  // 16: Luhn
      absl::StrCat(kDigitCanary, kDigitCanary, "0"),  // 11
      absl::StrCat(kDigitCanary, kDigitCanary, kDigitCanary, kDigitCanary,
                   "1"),  // 21: length
      absl::StrCat("\xFF\xD8\xFF", kCanary),
      absl::StrCat("\x89PNG\r\n\x1A\n", kCanary),
      std::string(kCanary) + std::string(70, 'a'),
      absl::StrCat(kCanary, ".", kCanary),
      absl::StrCat("esign.", kCanary),
  };
}

void ExpectNoCanary(const absl::Status& status) {
  EXPECT_FALSE(absl::StrContains(status.message(), kCanary)) << status;
  EXPECT_FALSE(absl::StrContains(status.message(), kDigitCanary)) << status;
  status.ForEachPayload([](absl::string_view type_url, const absl::Cord& p) {
    const std::string bytes(p);
    EXPECT_FALSE(absl::StrContains(bytes, kCanary)) << type_url;
    EXPECT_FALSE(absl::StrContains(bytes, kDigitCanary)) << type_url;
  });
}

TEST(NoValueLeakTest, ValidatorMessagesAreRuleNamesOnly) {
  const std::vector<
      std::pair<std::string, std::function<absl::Status(const std::string&)>>>
      validators = {
          {"id",
           [](const std::string& s) {
             return NormalizeIdNumber(s, kNow).status();
           }},
          {"birth date",
           [](const std::string& s) {
             return BirthDateFromIdNumber(s).status();
           }},
          {"mobile",
           [](const std::string& s) { return NormalizeMobile(s).status(); }},
          {"card",
           [](const std::string& s) { return NormalizeBankCard(s).status(); }},
          {"name",
           [](const std::string& s) { return NormalizeName(s).status(); }},
          {"face",
           [](const std::string& s) { return ValidateFaceImage(s, 16); }},
          {"video",
           [](const std::string& s) { return ValidateLivenessVideo(s, 16); }},
          {"request id",
           [](const std::string& s) { return ValidateRequestId(s); }},
          {"purpose",
           [](const std::string& s) { return ValidatePurposeFormat(s); }},
          {"opaque id",
           [](const std::string& s) { return ValidateOpaqueId(s, 12); }},
      };
  int refusals = 0;
  for (const auto& [label, validate] : validators) {
    for (const std::string& input : CanaryInputs()) {
      SCOPED_TRACE(label);
      const absl::Status status = validate(input);
      if (status.ok()) continue;
      ++refusals;
      EXPECT_TRUE(IsRuleName(status.message())) << status;
      ExpectNoCanary(status);
    }
  }
  // The inputs must really exercise the refusal paths.
  EXPECT_GT(refusals, 150);
}

TEST(NoValueLeakTest, MasksHideCanaries) {
  for (const std::string& input : CanaryInputs()) {
    for (const std::string& masked : {MaskIdNumber(input), MaskMobile(input),
                                      MaskBankCard(input), MaskName(input)}) {
      EXPECT_FALSE(absl::StrContains(masked, kCanary)) << masked;
      EXPECT_FALSE(absl::StrContains(masked, kDigitCanary)) << masked;
    }
  }
}

// Every status of ValidateVerifyRequest is built from paths and rule names.
void ExpectOnlyPathsAndRules(const absl::Status& status) {
  if (status.code() == absl::StatusCode::kFailedPrecondition) {
    EXPECT_EQ(status.message(), "subject is under 18");
    return;
  }
  ASSERT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  absl::string_view rest = status.message();
  ASSERT_TRUE(absl::ConsumePrefix(&rest, "invalid request: ")) << status;
  for (absl::string_view entry : absl::StrSplit(rest, "; ")) {
    std::vector<absl::string_view> parts = absl::StrSplit(entry, ": ");
    ASSERT_EQ(parts.size(), 2u) << entry;
    EXPECT_TRUE(IsRuleName(parts[1])) << entry;
    // Field paths are lowercase identifiers joined by dots.
    for (char c : parts[0]) {
      EXPECT_TRUE((c >= 'a' && c <= 'z') || c == '_' || c == '.') << entry;
    }
  }
}

void SetEveryStringField(const std::string& value, v1::VerifyRequest* r,
                         int check) {
  r->set_request_id(value);
  r->set_purpose(value);
  r->mutable_consent()->set_consent_id(value);
  r->mutable_consent()->add_recipients(value);
  switch (check) {
    case 0:
      r->mutable_carrier_three_factor()->set_name(value);
      r->mutable_carrier_three_factor()->set_id_number(value);
      r->mutable_carrier_three_factor()->set_mobile(value);
      break;
    case 1:
      r->mutable_bank_four_factor()->set_name(value);
      r->mutable_bank_four_factor()->set_id_number(value);
      r->mutable_bank_four_factor()->set_bank_card_number(value);
      r->mutable_bank_four_factor()->set_mobile(value);
      break;
    default:
      r->mutable_face_verification()->set_name(value);
      r->mutable_face_verification()->set_id_number(value);
      r->mutable_face_verification()->set_face_image(value);
      r->mutable_face_verification()->set_liveness_video(value);
      break;
  }
}

TEST(NoValueLeakTest, RequestErrorsNeverCarryValues) {
  ValidationLimits small;
  small.max_face_image_bytes = 16;
  small.max_liveness_video_bytes = 16;
  for (int check = 0; check < 3; ++check) {
    for (const std::string& input : CanaryInputs()) {
      v1::VerifyRequest request;
      SetEveryStringField(input, &request, check);
      const absl::Status status =
          ValidateVerifyRequest(request, small, kNow).status();
      ASSERT_FALSE(status.ok());
      ExpectOnlyPathsAndRules(status);
      ExpectNoCanary(status);
    }
  }
}

TEST(NoValueLeakTest, UnderageErrorCarriesNoValue) {
  // A valid request may hold canaries in its opaque ids; they stay inside.
  v1::VerifyRequest request;
  request.set_request_id(kCanary);
  request.set_purpose("esign.signer_identity");
  request.mutable_consent()->set_consent_id(kCanary);
  request.mutable_consent()->mutable_granted_at()->set_seconds(1700000000);
  request.mutable_consent()->add_recipients(kCanary);
  v1::CarrierThreeFactor* c = request.mutable_carrier_three_factor();
  c->set_name("张三");
  c->set_id_number(MakeIdNumber("440305", "20150101", "013"));
  c->set_mobile("13897315000");
  const absl::Status status =
      ValidateVerifyRequest(request, ValidationLimits(), kNow).status();
  ASSERT_EQ(status.code(), absl::StatusCode::kFailedPrecondition) << status;
  ExpectOnlyPathsAndRules(status);
  ExpectNoCanary(status);
  EXPECT_FALSE(absl::StrContains(status.message(), "20150101"));
}

}  // namespace
}  // namespace idgate::identity
