#include "server/auth/caller_auth.h"

#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"

namespace idgate {
namespace {

namespace cfg = ::idgate::config::v1;

cfg::CallerSettings Settings(bool development_mode) {
  cfg::CallerSettings s;
  google::protobuf::TextFormat::ParseFromString(
      R"pb(
        callers {
          id: "spiffe://idgate/esign"
          checks: CHECK_CARRIER_THREE_FACTOR
          purposes: "esign.signer_identity"
        }
        callers {
          id: "ca-desk.internal"
          checks: CHECK_FACE_VERIFICATION
          purposes: "ca.certificate_registration"
        }
        callers {
          id: "legacy-cn"
          checks: CHECK_CARRIER_THREE_FACTOR
          purposes: "esign.signer_identity"
        }
      )pb",
      &s);
  s.set_development_mode(development_mode);
  return s;
}

TEST(CallerAuthenticator, UriSanWinsOverDnsSanAndCn) {
  CallerAuthenticator auth(Settings(false));
  PeerIdentity peer;
  peer.uri_sans = {"spiffe://idgate/esign"};
  peer.dns_sans = {"ca-desk.internal"};
  peer.common_name = "legacy-cn";
  auto caller = auth.Identify(peer);
  ASSERT_TRUE(caller.ok());
  EXPECT_EQ((*caller)->id(), "spiffe://idgate/esign");
}

TEST(CallerAuthenticator, DnsSanThenCn) {
  CallerAuthenticator auth(Settings(false));
  PeerIdentity dns;
  dns.dns_sans = {"other.internal", "ca-desk.internal"};
  dns.common_name = "legacy-cn";
  EXPECT_EQ((*auth.Identify(dns))->id(), "ca-desk.internal");
  PeerIdentity cn;
  cn.common_name = "legacy-cn";
  EXPECT_EQ((*auth.Identify(cn))->id(), "legacy-cn");
}

TEST(CallerAuthenticator,
     UnknownCertificateIsUnauthenticatedEvenWithAMatchingCn) {
  CallerAuthenticator auth(Settings(true));
  PeerIdentity peer;
  peer.dns_sans = {"intruder.internal"};
  peer.common_name = "legacy-cn";         // SAN present: CN is not consulted
  peer.development_caller = "legacy-cn";  // and metadata never overrides a cert
  EXPECT_EQ(auth.Identify(peer).status().code(),
            absl::StatusCode::kUnauthenticated);
}

TEST(CallerAuthenticator, MetadataOnlyInDevelopmentMode) {
  PeerIdentity peer;
  peer.development_caller = "legacy-cn";
  EXPECT_EQ(CallerAuthenticator(Settings(false)).Identify(peer).status().code(),
            absl::StatusCode::kUnauthenticated);
  CallerAuthenticator dev_auth(Settings(true));
  auto dev = dev_auth.Identify(peer);
  ASSERT_TRUE(dev.ok());
  EXPECT_EQ((*dev)->id(), "legacy-cn");
  peer.development_caller = "nobody";
  EXPECT_EQ(dev_auth.Identify(peer).status().code(),
            absl::StatusCode::kUnauthenticated);
}

TEST(CallerAuthenticator, AuthorizeChecksCheckAndPurpose) {
  CallerAuthenticator auth(Settings(false));
  PeerIdentity peer;
  peer.dns_sans = {"ca-desk.internal"};
  const Caller& desk = **auth.Identify(peer);
  EXPECT_TRUE(CallerAuthenticator::Authorize(desk, cfg::CHECK_FACE_VERIFICATION,
                                             "ca.certificate_registration")
                  .ok());
  EXPECT_EQ(
      CallerAuthenticator::Authorize(desk, cfg::CHECK_CARRIER_THREE_FACTOR,
                                     "ca.certificate_registration")
          .code(),
      absl::StatusCode::kPermissionDenied);
  auto wrong_purpose = CallerAuthenticator::Authorize(
      desk, cfg::CHECK_FACE_VERIFICATION, "esign.CANARY-purpose");
  EXPECT_EQ(wrong_purpose.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(std::string(wrong_purpose.message()).find("CANARY"),
            std::string::npos);
}

}  // namespace
}  // namespace idgate
