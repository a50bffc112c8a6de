#include <string>

#include "core/pii.h"
#include "core/pii_fields.h"
#include "gmock/gmock.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "idgate/provider/v1/carrier.pb.h"
#include "server/policy/disclosure_policy.h"
#include "server/policy/egress_guard.h"

namespace idgate {
namespace {

using ::idgate::v1::PII_FIELD_BANK_CARD_NUMBER;
using ::idgate::v1::PII_FIELD_FACE_IMAGE;
using ::idgate::v1::PII_FIELD_ID_NUMBER;
using ::idgate::v1::PII_FIELD_MOBILE;
using ::idgate::v1::PII_FIELD_NAME;
using ::idgate::v1::PII_FORM_PLAIN;
using ::idgate::v1::PII_FORM_SHA256;
using ::idgate::v1::PII_FORM_SM3;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
namespace cfg = ::idgate::config::v1;

// An adapter that needs a fixed set of fields and is never called.
class NeedsAdapter : public Adapter {
 public:
  explicit NeedsAdapter(std::vector<FieldForm> needs)
      : needs_(std::move(needs)) {}
  std::vector<Check> checks() const override {
    return {cfg::CHECK_CARRIER_THREE_FACTOR};
  }
  std::vector<FieldForm> RequiredFields(Check) const override { return needs_; }
  absl::StatusOr<std::unique_ptr<PreparedCall>> Prepare(
      const MinimizedSubject&, const CallContext&) const override {
    return absl::UnimplementedError("not used");
  }

 private:
  std::vector<FieldForm> needs_;
};

cfg::GatewayConfig Config(const std::string& json) {
  cfg::GatewayConfig config;
  auto st = google::protobuf::util::JsonStringToMessage(json, &config);
  EXPECT_TRUE(st.ok()) << st;
  return config;
}

const char* kTwoPurposes = R"({
  "providers": [{"id": "carrier", "recipient": "Carrier Co."}],
  "routes": [{"check": "CHECK_CARRIER_THREE_FACTOR", "targets": [{"provider": "carrier"}]}],
  "disclosureRules": [
    {"provider": "carrier", "purposes": ["esign.signer_identity"],
     "fields": [{"field": "PII_FIELD_NAME", "form": "PII_FORM_PLAIN"},
                {"field": "PII_FIELD_ID_NUMBER", "form": "PII_FORM_PLAIN"},
                {"field": "PII_FIELD_MOBILE", "form": "PII_FORM_PLAIN"}]},
    {"provider": "carrier", "purposes": ["app.account_verification"],
     "fields": [{"field": "PII_FIELD_NAME", "form": "PII_FORM_SHA256"},
                {"field": "PII_FIELD_ID_NUMBER", "form": "PII_FORM_SHA256"},
                {"field": "PII_FIELD_MOBILE", "form": "PII_FORM_SHA256"}]}
  ]})";

TEST(DisclosurePolicy, CompilesAndLooksUpPerProviderAndPurpose) {
  NeedsAdapter adapter({});
  auto policy = DisclosurePolicy::Compile(
      Config(kTwoPurposes), [&](const std::string&) { return &adapter; });
  ASSERT_TRUE(policy.ok()) << policy.status();
  const auto* plain = (*policy)->Allowed("carrier", "esign.signer_identity");
  ASSERT_NE(plain, nullptr);
  EXPECT_TRUE(plain->count({PII_FIELD_ID_NUMBER, PII_FORM_PLAIN}));
  EXPECT_FALSE(plain->count({PII_FIELD_ID_NUMBER, PII_FORM_SHA256}));
  const auto* hashed =
      (*policy)->Allowed("carrier", "app.account_verification");
  ASSERT_NE(hashed, nullptr);
  EXPECT_FALSE(hashed->count({PII_FIELD_ID_NUMBER, PII_FORM_PLAIN}));
  EXPECT_EQ((*policy)->Allowed("carrier", "ca.certificate_registration"),
            nullptr);
  EXPECT_EQ((*policy)->Allowed("bank", "esign.signer_identity"), nullptr);
  EXPECT_EQ((*policy)->version().size(), 64u);
}

TEST(DisclosurePolicy, VersionChangesWithTheRules) {
  NeedsAdapter adapter({});
  auto lookup = [&](const std::string&) { return &adapter; };
  auto a = DisclosurePolicy::Compile(Config(kTwoPurposes), lookup);
  std::string changed = kTwoPurposes;
  changed.replace(changed.find("PII_FORM_SHA256"), 15, "PII_FORM_SM3");
  auto b = DisclosurePolicy::Compile(Config(changed), lookup);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE((*a)->version(), (*b)->version());
}

TEST(DisclosurePolicy,
     StartupFailsWhenTheAdapterNeedsAFieldTheRuleDoesNotAllow) {
  // The adapter sends plain values, but the second rule only allows hashes.
  NeedsAdapter adapter(
      {{PII_FIELD_NAME, PII_FORM_PLAIN}, {PII_FIELD_MOBILE, PII_FORM_PLAIN}});
  auto policy = DisclosurePolicy::Compile(
      Config(kTwoPurposes), [&](const std::string&) { return &adapter; });
  ASSERT_EQ(policy.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(policy.status().message(), HasSubstr("disclosure_rules[1]"));
  EXPECT_THAT(policy.status().message(), HasSubstr("app.account_verification"));
  EXPECT_THAT(policy.status().message(),
              HasSubstr("PII_FIELD_NAME/PII_FORM_PLAIN"));
}

TEST(DisclosurePolicy, StartupFailsForARoutedProviderWithoutRule) {
  NeedsAdapter adapter({});
  auto config = Config(kTwoPurposes);
  config.clear_disclosure_rules();
  auto policy = DisclosurePolicy::Compile(
      config, [&](const std::string&) { return &adapter; });
  ASSERT_EQ(policy.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(policy.status().message(), HasSubstr("routes[0].targets[0]"));
}

TEST(DisclosurePolicy, ConsentScopes) {
  EXPECT_EQ(DisclosurePolicy::RequiredScope(PII_FIELD_FACE_IMAGE),
            ::idgate::v1::CONSENT_SCOPE_BIOMETRIC);
  EXPECT_EQ(
      DisclosurePolicy::RequiredScope(::idgate::v1::PII_FIELD_LIVENESS_VIDEO),
      ::idgate::v1::CONSENT_SCOPE_BIOMETRIC);
  EXPECT_EQ(DisclosurePolicy::RequiredScope(PII_FIELD_BANK_CARD_NUMBER),
            ::idgate::v1::CONSENT_SCOPE_FINANCIAL_ACCOUNT);
  EXPECT_EQ(DisclosurePolicy::RequiredScope(PII_FIELD_MOBILE),
            ::idgate::v1::CONSENT_SCOPE_IDENTITY);
}

TEST(EgressGuard, ReturnsExactlyTheSetPairs) {
  ::idgate::provider::v1::CheckThreeFactorRequest request;
  request.set_app_id("app");
  request.set_order_no("d-1");
  request.set_name("测试甲");
  request.set_id_number("11010519491231002X");
  auto pairs = InspectEgress(request,
                             {{PII_FIELD_NAME, PII_FORM_PLAIN},
                              {PII_FIELD_ID_NUMBER, PII_FORM_PLAIN},
                              {PII_FIELD_MOBILE, PII_FORM_PLAIN}},
                             "carrier");
  ASSERT_TRUE(pairs.ok()) << pairs.status();
  EXPECT_EQ(*pairs,
            (std::set<FieldForm>{{PII_FIELD_NAME, PII_FORM_PLAIN},
                                 {PII_FIELD_ID_NUMBER, PII_FORM_PLAIN}}));
}

// An empty proto3 string is not sent, so it is not a disclosure, even when
// it was set and cleared (ListFields decides, no value is read).
TEST(EgressGuard, AnEmptyStringIsNotDisclosed) {
  ::idgate::provider::v1::CheckThreeFactorRequest request;
  request.set_name("测试甲");
  request.set_mobile("13800138000");
  request.set_mobile("");
  auto pairs =
      InspectEgress(request, {{PII_FIELD_NAME, PII_FORM_PLAIN}}, "carrier");
  ASSERT_TRUE(pairs.ok()) << pairs.status();
  EXPECT_EQ(*pairs, (std::set<FieldForm>{{PII_FIELD_NAME, PII_FORM_PLAIN}}));
}

TEST(EgressGuard, RefusesAPairOutsideTheAllowlistWithoutEchoingValues) {
  ::idgate::provider::v1::CheckThreeFactorRequest request;
  request.set_name("CANARY-NAME-7731");
  request.set_mobile_sha256("CANARY-HASH-7731");
  auto pairs =
      InspectEgress(request, {{PII_FIELD_NAME, PII_FORM_PLAIN}}, "carrier");
  ASSERT_EQ(pairs.status().code(), absl::StatusCode::kInternal);
  EXPECT_THAT(pairs.status().message(),
              HasSubstr("PII_FIELD_MOBILE/PII_FORM_SHA256"));
  EXPECT_THAT(std::string(pairs.status().message()),
              ::testing::Not(HasSubstr("CANARY")));
}

TEST(EgressGuard, RefusesUnknownFieldsThatCouldSmuggleData) {
  ::idgate::provider::v1::CheckThreeFactorRequest request;
  request.GetReflection()->MutableUnknownFields(&request)->AddLengthDelimited(
      999, "CANARY-7731");
  auto pairs = InspectEgress(request, {}, "carrier");
  EXPECT_EQ(pairs.status().code(), absl::StatusCode::kInternal);
}

// Every string and bytes field of every provider protocol is classified.
TEST(PiiClassification, EveryProviderFieldIsClassified) {
  const auto* pool = google::protobuf::DescriptorPool::generated_pool();
  for (const char* file :
       {"idgate/provider/v1/carrier.proto", "idgate/provider/v1/bank.proto",
        "idgate/provider/v1/cfca.proto", "idgate/provider/v1/alipay.proto"}) {
    const auto* fd = pool->FindFileByName(file);
    ASSERT_NE(fd, nullptr) << file << " is not linked in";
    for (int i = 0; i < fd->message_type_count(); ++i) {
      EXPECT_THAT(UnclassifiedFields(fd->message_type(i)), IsEmpty()) << file;
    }
  }
}

TEST(PiiClassification, AnUnclassifiedFieldIsFound) {
  // google.protobuf.FieldDescriptorProto has plenty of unannotated strings.
  EXPECT_FALSE(
      UnclassifiedFields(google::protobuf::FieldDescriptorProto::descriptor())
          .empty());
}

}  // namespace
}  // namespace idgate
