#include "server/identity/request_validator.h"

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/cord.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/identity/testing/id_numbers.h"

namespace idgate::identity {
namespace {

namespace cfg = ::idgate::config::v1;
namespace v1 = ::idgate::v1;
using ::idgate::identity::testing::MakeIdNumber;
using ::idgate::identity::testing::WithWrongCheckCharacter;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::Pair;

using Violation = std::pair<std::string, std::string>;

absl::Time Utc(int y, int mo, int d, int h = 0, int mi = 0, int s = 0) {
  return absl::FromCivil(absl::CivilSecond(y, mo, d, h, mi, s),
                         absl::UTCTimeZone());
}

// 2025-06-15 12:00 in Shanghai.
const absl::Time kNow = Utc(2025, 6, 15, 4);
const std::string kIdNumber = "11010519491231002X";
const std::string kJpeg("\xFF\xD8\xFF\xE0\x00\x10JFIF\x00", 11);

void SetTimestamp(absl::Time t, google::protobuf::Timestamp* ts) {
  const absl::Duration since_epoch = t - absl::UnixEpoch();
  ts->set_seconds(absl::ToInt64Seconds(since_epoch));
  ts->set_nanos(static_cast<int>(
      absl::ToInt64Nanoseconds(since_epoch - absl::Seconds(ts->seconds()))));
}

v1::VerifyRequest BaseRequest(absl::Time now = kNow) {
  v1::VerifyRequest request;
  request.set_request_id("req-1");
  request.set_purpose("esign.signer_identity");
  v1::Consent* consent = request.mutable_consent();
  consent->set_consent_id("consent-1");
  SetTimestamp(now - absl::Hours(1), consent->mutable_granted_at());
  consent->add_scopes(v1::CONSENT_SCOPE_IDENTITY);
  consent->add_recipients("carrier_mock");
  return request;
}

v1::VerifyRequest CarrierRequest(absl::Time now = kNow,
                                 const std::string& id_number = kIdNumber) {
  v1::VerifyRequest request = BaseRequest(now);
  v1::CarrierThreeFactor* c = request.mutable_carrier_three_factor();
  c->set_name(" 阿沛•阿旺晋美 ");
  c->set_id_number(id_number);
  c->set_mobile("+8613812345678");
  return request;
}

v1::VerifyRequest BankRequest() {
  v1::VerifyRequest request = BaseRequest();
  request.mutable_consent()->add_scopes(v1::CONSENT_SCOPE_FINANCIAL_ACCOUNT);
  v1::BankFourFactor* b = request.mutable_bank_four_factor();
  b->set_name("张三");
  b->set_id_number(kIdNumber);
  b->set_bank_card_number("4111111111111111");
  b->set_mobile("008613912345678");
  return request;
}

v1::VerifyRequest FaceRequest() {
  v1::VerifyRequest request = BaseRequest();
  request.mutable_consent()->add_scopes(v1::CONSENT_SCOPE_BIOMETRIC);
  v1::FaceVerification* f = request.mutable_face_verification();
  f->set_name("张三");
  f->set_id_number(kIdNumber);
  f->set_face_image(kJpeg + "pixels");
  return request;
}

// The violations of the BadRequest payload, or {{"<none>", ...}} if absent.
std::vector<Violation> PayloadViolations(const absl::Status& status) {
  absl::optional<absl::Cord> payload = status.GetPayload(kBadRequestTypeUrl);
  if (!payload.has_value()) return {{"<no payload>", ""}};
  v1::BadRequest bad_request;
  if (!bad_request.ParseFromString(std::string(*payload))) {
    return {{"<unparsable payload>", ""}};
  }
  std::vector<Violation> out;
  for (const v1::FieldViolation& v : bad_request.field_violations()) {
    out.emplace_back(v.field(), v.rule());
  }
  return out;
}

TEST(ValidateVerifyRequestTest, CarrierIsNormalized) {
  v1::VerifyRequest request = CarrierRequest();
  request.mutable_carrier_three_factor()->set_id_number("11010519491231002x");
  absl::StatusOr<NormalizedRequest> result =
      ValidateVerifyRequest(request, ValidationLimits(), kNow);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->check, cfg::CHECK_CARRIER_THREE_FACTOR);
  EXPECT_EQ(result->request_id, "req-1");
  EXPECT_EQ(result->purpose, "esign.signer_identity");
  EXPECT_EQ(result->consent.SerializeAsString(),
            request.consent().SerializeAsString());
  EXPECT_EQ(result->name, "阿沛·阿旺晋美");
  EXPECT_EQ(result->id_number, "11010519491231002X");
  EXPECT_EQ(result->mobile, "13812345678");
  EXPECT_EQ(result->birth_date, absl::CivilDay(1949, 12, 31));
  EXPECT_THAT(result->bank_card_number, IsEmpty());
  EXPECT_THAT(result->face_image, IsEmpty());
}

TEST(ValidateVerifyRequestTest, BankIsNormalized) {
  absl::StatusOr<NormalizedRequest> result =
      ValidateVerifyRequest(BankRequest(), ValidationLimits(), kNow);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->check, cfg::CHECK_BANK_FOUR_FACTOR);
  EXPECT_EQ(result->name, "张三");
  EXPECT_EQ(result->id_number, kIdNumber);
  EXPECT_EQ(result->bank_card_number, "4111111111111111");
  EXPECT_EQ(result->mobile, "13912345678");
}

TEST(ValidateVerifyRequestTest, FaceIsNormalized) {
  v1::VerifyRequest request = FaceRequest();
  absl::StatusOr<NormalizedRequest> result =
      ValidateVerifyRequest(request, ValidationLimits(), kNow);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->check, cfg::CHECK_FACE_VERIFICATION);
  EXPECT_EQ(result->face_image, kJpeg + "pixels");
  EXPECT_THAT(result->liveness_video, IsEmpty());
  EXPECT_THAT(result->mobile, IsEmpty());

  request.mutable_face_verification()->set_liveness_video("video");
  result = ValidateVerifyRequest(request, ValidationLimits(), kNow);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->liveness_video, "video");
}

struct ViolationCase {
  std::string label;
  std::function<v1::VerifyRequest()> make;
  std::string field;
  std::string rule;
};

template <typename Mutate>
std::function<v1::VerifyRequest()> Mutated(v1::VerifyRequest (*base)(),
                                           Mutate mutate) {
  return [base, mutate] {
    v1::VerifyRequest request = base();
    mutate(request);
    return request;
  };
}

v1::VerifyRequest DefaultCarrier() { return CarrierRequest(); }

TEST(ValidateVerifyRequestTest, EachViolationNamesFieldAndRule) {
  using R = v1::VerifyRequest;
  const std::vector<ViolationCase> cases = {
      {"no request id",
       Mutated(DefaultCarrier, [](R& r) { r.clear_request_id(); }),
       "request_id", "empty"},
      {"request id with space",
       Mutated(DefaultCarrier, [](R& r) { r.set_request_id("req 1"); }),
       "request_id", "characters"},
      {"request id too long",
       Mutated(DefaultCarrier,
               [](R& r) { r.set_request_id(std::string(65, 'r')); }),
       "request_id", "length"},
      {"no purpose", Mutated(DefaultCarrier, [](R& r) { r.clear_purpose(); }),
       "purpose", "empty"},
      {"purpose uppercase",
       Mutated(DefaultCarrier, [](R& r) { r.set_purpose("ESign.x"); }),
       "purpose", "format"},
      {"no consent", Mutated(DefaultCarrier, [](R& r) { r.clear_consent(); }),
       "consent", "missing"},
      {"no consent id",
       Mutated(DefaultCarrier,
               [](R& r) { r.mutable_consent()->clear_consent_id(); }),
       "consent.consent_id", "empty"},
      {"consent id with newline",
       Mutated(DefaultCarrier,
               [](R& r) { r.mutable_consent()->set_consent_id("c\n1"); }),
       "consent.consent_id", "characters"},
      {"no granted_at",
       Mutated(DefaultCarrier,
               [](R& r) { r.mutable_consent()->clear_granted_at(); }),
       "consent.granted_at", "missing"},
      {"granted_at one nanosecond in the future",
       Mutated(DefaultCarrier,
               [](R& r) {
                 SetTimestamp(kNow + absl::Nanoseconds(1),
                              r.mutable_consent()->mutable_granted_at());
               }),
       "consent.granted_at", "future"},
      {"granted_at nanos out of range",
       Mutated(DefaultCarrier,
               [](R& r) {
                 r.mutable_consent()->mutable_granted_at()->set_nanos(
                     1000000000);
               }),
       "consent.granted_at", "format"},
      {"granted_at before year 1",
       Mutated(DefaultCarrier,
               [](R& r) {
                 r.mutable_consent()->mutable_granted_at()->set_seconds(
                     -62135596801);
               }),
       "consent.granted_at", "format"},
      {"unknown consent scope",
       Mutated(DefaultCarrier,
               [](R& r) {
                 r.mutable_consent()->add_scopes(
                     static_cast<v1::ConsentScope>(99));
               }),
       "consent.scopes", "unknown value"},
      {"unspecified consent scope",
       Mutated(DefaultCarrier,
               [](R& r) {
                 r.mutable_consent()->add_scopes(v1::CONSENT_SCOPE_UNSPECIFIED);
               }),
       "consent.scopes", "unknown value"},
      {"empty recipient",
       Mutated(DefaultCarrier,
               [](R& r) { r.mutable_consent()->add_recipients(""); }),
       "consent.recipients", "empty"},
      {"no check", Mutated(DefaultCarrier, [](R& r) { r.clear_check(); }),
       "check", "missing"},
      {"carrier name with RLO",
       Mutated(DefaultCarrier,
               [](R& r) {
                 r.mutable_carrier_three_factor()->set_name("张\xE2\x80\xAE三");
               }),
       "carrier_three_factor.name", "characters"},
      {"carrier id check digit",
       Mutated(DefaultCarrier,
               [](R& r) {
                 r.mutable_carrier_three_factor()->set_id_number(
                     WithWrongCheckCharacter(kIdNumber));
               }),
       "carrier_three_factor.id_number", "check digit"},
      {"carrier id 15 digits",
       Mutated(DefaultCarrier,
               [](R& r) {
                 r.mutable_carrier_three_factor()->set_id_number(
                     "110105491231002");
               }),
       "carrier_three_factor.id_number", "length"},
      {"carrier id born tomorrow",
       Mutated(DefaultCarrier,
               [](R& r) {
                 r.mutable_carrier_three_factor()->set_id_number(
                     MakeIdNumber("110105", "20250616", "001"));
               }),
       "carrier_three_factor.id_number", "birth date"},
      {"carrier mobile 12x",
       Mutated(DefaultCarrier,
               [](R& r) {
                 r.mutable_carrier_three_factor()->set_mobile("12812345678");
               }),
       "carrier_three_factor.mobile", "format"},
      {"bank name empty",
       Mutated(BankRequest,
               [](R& r) { r.mutable_bank_four_factor()->clear_name(); }),
       "bank_four_factor.name", "empty"},
      {"bank id province 99",
       Mutated(BankRequest,
               [](R& r) {
                 r.mutable_bank_four_factor()->set_id_number(
                     MakeIdNumber("990105", "19900307", "447"));
               }),
       "bank_four_factor.id_number", "province"},
      {"bank card Luhn",
       Mutated(BankRequest,
               [](R& r) {
                 r.mutable_bank_four_factor()->set_bank_card_number(
                     "4111111111111112");
               }),
       "bank_four_factor.bank_card_number", "luhn"},
      {"bank card all zeros",
       Mutated(BankRequest,
               [](R& r) {
                 r.mutable_bank_four_factor()->set_bank_card_number(
                     "0000000000000000");
               }),
       "bank_four_factor.bank_card_number", "all zeros"},
      {"bank mobile separators",
       Mutated(BankRequest,
               [](R& r) {
                 r.mutable_bank_four_factor()->set_mobile("138-1234-5678");
               }),
       "bank_four_factor.mobile", "characters"},
      {"face name CRLF",
       Mutated(
           FaceRequest,
           [](R& r) { r.mutable_face_verification()->set_name("张三\r\n"); }),
       "face_verification.name", "characters"},
      {"face id zero-width space",
       Mutated(FaceRequest,
               [](R& r) {
                 r.mutable_face_verification()->set_id_number("\xE2\x80\x8B" +
                                                              kIdNumber);
               }),
       "face_verification.id_number", "characters"},
      {"face image empty",
       Mutated(FaceRequest,
               [](R& r) { r.mutable_face_verification()->clear_face_image(); }),
       "face_verification.face_image", "empty"},
      {"face image truncated JPEG",
       Mutated(FaceRequest,
               [](R& r) {
                 r.mutable_face_verification()->set_face_image("\xFF\xD8\xFF");
               }),
       "face_verification.face_image", "magic bytes"},
      {"face image oversized",
       Mutated(FaceRequest,
               [](R& r) {
                 r.mutable_face_verification()->set_face_image(
                     kJpeg + std::string(kDefaultMaxFaceImageBytes, 'p'));
               }),
       "face_verification.face_image", "size"},
      {"liveness video oversized",
       Mutated(FaceRequest,
               [](R& r) {
                 r.mutable_face_verification()->set_liveness_video(
                     std::string(kDefaultMaxLivenessVideoBytes + 1, 'v'));
               }),
       "face_verification.liveness_video", "size"},
  };
  for (const ViolationCase& c : cases) {
    SCOPED_TRACE(c.label);
    absl::StatusOr<NormalizedRequest> result =
        ValidateVerifyRequest(c.make(), ValidationLimits(), kNow);
    ASSERT_FALSE(result.ok());
    EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(result.status().message(),
              "invalid request: " + c.field + ": " + c.rule);
    EXPECT_THAT(PayloadViolations(result.status()),
                ElementsAre(Pair(c.field, c.rule)));
    EXPECT_FALSE(result.status().GetPayload(kErrorReasonTypeUrl).has_value());
  }
}

TEST(ValidateVerifyRequestTest, ReportsEveryViolationAtOnceInFieldOrder) {
  v1::VerifyRequest request;
  request.set_purpose("Bad Purpose");
  request.mutable_bank_four_factor()->set_id_number("110105491231002");
  request.mutable_bank_four_factor()->set_bank_card_number("4111111111111112");
  request.mutable_bank_four_factor()->set_mobile("+86 13812345678");

  absl::StatusOr<NormalizedRequest> result =
      ValidateVerifyRequest(request, ValidationLimits(), kNow);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(result.status().message(),
            "invalid request: request_id: empty; purpose: format; "
            "consent: missing; bank_four_factor.name: empty; "
            "bank_four_factor.id_number: length; "
            "bank_four_factor.bank_card_number: luhn; "
            "bank_four_factor.mobile: characters");
  EXPECT_THAT(PayloadViolations(result.status()),
              ElementsAre(Pair("request_id", "empty"),
                          Pair("purpose", "format"), Pair("consent", "missing"),
                          Pair("bank_four_factor.name", "empty"),
                          Pair("bank_four_factor.id_number", "length"),
                          Pair("bank_four_factor.bank_card_number", "luhn"),
                          Pair("bank_four_factor.mobile", "characters")));
}

TEST(ValidateVerifyRequestTest, EmptyRequest) {
  absl::StatusOr<NormalizedRequest> result =
      ValidateVerifyRequest(v1::VerifyRequest(), ValidationLimits(), kNow);
  ASSERT_FALSE(result.ok());
  EXPECT_THAT(
      PayloadViolations(result.status()),
      ElementsAre(Pair("request_id", "empty"), Pair("purpose", "empty"),
                  Pair("consent", "missing"), Pair("check", "missing")));
}

TEST(ValidateVerifyRequestTest, ConsentGrantedExactlyNowIsAccepted) {
  v1::VerifyRequest request = CarrierRequest();
  SetTimestamp(kNow, request.mutable_consent()->mutable_granted_at());
  EXPECT_TRUE(ValidateVerifyRequest(request, ValidationLimits(), kNow).ok());
}

TEST(ValidateVerifyRequestTest, UsesGivenLimits) {
  ValidationLimits limits;
  limits.max_face_image_bytes = kJpeg.size() + 6;  // exactly FaceRequest's
  limits.max_liveness_video_bytes = 4;
  v1::VerifyRequest request = FaceRequest();
  EXPECT_TRUE(ValidateVerifyRequest(request, limits, kNow).ok());

  request.mutable_face_verification()->set_liveness_video("video");
  request.mutable_face_verification()->mutable_face_image()->push_back('!');
  absl::StatusOr<NormalizedRequest> result =
      ValidateVerifyRequest(request, limits, kNow);
  EXPECT_THAT(PayloadViolations(result.status()),
              ElementsAre(Pair("face_verification.face_image", "size"),
                          Pair("face_verification.liveness_video", "size")));
}

TEST(ValidationLimitsFromConfigTest, ZeroKeepsDefaults) {
  cfg::ValidationSettings settings;
  ValidationLimits limits = ValidationLimitsFromConfig(settings);
  EXPECT_EQ(limits.max_face_image_bytes, 2u * 1024 * 1024);
  EXPECT_EQ(limits.max_liveness_video_bytes, 8u * 1024 * 1024);

  settings.set_max_face_image_bytes(1000);
  settings.set_max_liveness_video_bytes(2000);
  limits = ValidationLimitsFromConfig(settings);
  EXPECT_EQ(limits.max_face_image_bytes, 1000u);
  EXPECT_EQ(limits.max_liveness_video_bytes, 2000u);
}

// ---- Age ------------------------------------------------------------------

// Born 2007-03-15: 18 from 2025-03-15 00:00 Shanghai = 2025-03-14 16:00 UTC.
const std::string kBornMarch2007 = MakeIdNumber("310104", "20070315", "246");

void ExpectUnderage(const absl::StatusOr<NormalizedRequest>& result) {
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(result.status().message(), "subject is under 18");
  absl::optional<absl::Cord> payload =
      result.status().GetPayload(kErrorReasonTypeUrl);
  ASSERT_TRUE(payload.has_value());
  v1::ErrorReason reason;
  ASSERT_TRUE(reason.ParseFromString(std::string(*payload)));
  EXPECT_EQ(reason.reason(), "SUBJECT_UNDERAGE");
  EXPECT_FALSE(result.status().GetPayload(kBadRequestTypeUrl).has_value());
}

TEST(ValidateVerifyRequestTest, EighteenthBirthdayAroundShanghaiMidnight) {
  struct AgeCase {
    std::string label;
    absl::Time now;
    bool adult;
  };
  const std::vector<AgeCase> cases = {
      {"18 years minus one day", Utc(2025, 3, 13, 16), false},
      {"one second before Shanghai midnight", Utc(2025, 3, 14, 15, 59, 59),
       false},
      {"exactly 18: Shanghai midnight", Utc(2025, 3, 14, 16), true},
      {"18 years plus one day", Utc(2025, 3, 15, 16), true},
  };
  for (const AgeCase& c : cases) {
    SCOPED_TRACE(c.label);
    absl::StatusOr<NormalizedRequest> result = ValidateVerifyRequest(
        CarrierRequest(c.now, kBornMarch2007), ValidationLimits(), c.now);
    if (c.adult) {
      ASSERT_TRUE(result.ok()) << result.status();
      EXPECT_EQ(result->birth_date, absl::CivilDay(2007, 3, 15));
    } else {
      ExpectUnderage(result);
    }
  }
}

TEST(ValidateVerifyRequestTest, UnderageAppliesToEveryCheck) {
  const std::string child = MakeIdNumber("440305", "20150101", "013");
  v1::VerifyRequest bank = BankRequest();
  bank.mutable_bank_four_factor()->set_id_number(child);
  ExpectUnderage(ValidateVerifyRequest(bank, ValidationLimits(), kNow));
  v1::VerifyRequest face = FaceRequest();
  face.mutable_face_verification()->set_id_number(child);
  ExpectUnderage(ValidateVerifyRequest(face, ValidationLimits(), kNow));
}

TEST(ValidateVerifyRequestTest, InputErrorsComeBeforeTheAgeRule) {
  v1::VerifyRequest request =
      CarrierRequest(kNow, MakeIdNumber("440305", "20150101", "013"));
  request.set_request_id("");
  absl::StatusOr<NormalizedRequest> result =
      ValidateVerifyRequest(request, ValidationLimits(), kNow);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(PayloadViolations(result.status()),
              ElementsAre(Pair("request_id", "empty")));
  EXPECT_FALSE(result.status().GetPayload(kErrorReasonTypeUrl).has_value());
}

}  // namespace
}  // namespace idgate::identity
