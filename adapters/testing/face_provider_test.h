#pragma once

// The face-check providers (CFCA-style and Alipay-style) answer the same
// check with the same identity book, signed requests and mock behaviours:
// what they share is tested once, by FaceCheckTest, which each provider's
// test instantiates with its FaceProvider:
//
//   INSTANTIATE_TEST_SUITE_P(Cfca, FaceCheckTest, ::testing::Values(Cfca()));
//
// Each provider's own protocol (request fields, raw calls to its mock, its
// code table) is tested in its own files, on a FaceProviderTest.

#include <memory>
#include <ostream>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "adapters/adapter.h"
#include "adapters/mock.h"
#include "adapters/testing/adapter_test.h"
#include "core/pii.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"
#include "gtest/gtest.h"
#include "idgate/config/v1/config.pb.h"

namespace idgate {

inline constexpr Check kFaceCheck =
    ::idgate::config::v1::CHECK_FACE_VERIFICATION;

// The (field, form) pairs of a face check: the required name, ID number and
// face image, and the liveness video some providers take as well.
inline const FieldForm kPlainName{::idgate::v1::PII_FIELD_NAME,
                                  ::idgate::v1::PII_FORM_PLAIN};
inline const FieldForm kPlainId{::idgate::v1::PII_FIELD_ID_NUMBER,
                                ::idgate::v1::PII_FORM_PLAIN};
inline const FieldForm kPlainImage{::idgate::v1::PII_FIELD_FACE_IMAGE,
                                   ::idgate::v1::PII_FORM_PLAIN};
inline const FieldForm kPlainVideo{::idgate::v1::PII_FIELD_LIVENESS_VIDEO,
                                   ::idgate::v1::PII_FORM_PLAIN};

// The clock of the face adapters under test: 2024-03-01 12:00:00 Beijing.
absl::Time FixedNow();

// One face-check provider, as the shared tests see it.
struct FaceProvider {
  std::string name;  // "CFCA", in test output

  // Its factories, built with FixedNow, and the adapter config the tests use.
  std::shared_ptr<const AdapterFactory> adapters;
  std::shared_ptr<const MockFactory> mocks;
  std::shared_ptr<const google::protobuf::Message> config;
  std::string config_type;  // the full name of the config message
  uint64_t seed = 1;        // of its mock

  // Request signing: key files of the repository, the request field that
  // carries the signature, and another provider's public key, with which
  // its mock refuses every request the adapter signs.
  std::string signing_key_file;
  std::string public_key_file;
  std::string other_public_key_file;
  std::string signature_field;

  // Its protocol's request and response messages.
  const google::protobuf::Descriptor* request = nullptr;
  const google::protobuf::Descriptor* response = nullptr;

  // The provider codes its outcomes are recorded as.
  struct Codes {
    std::string match;
    std::string name_id_mismatch;
    std::string face_mismatch;
    std::string no_id_photo;
    std::string liveness_failed;
    std::string signature_refused;
    std::string daily_limit;
    std::set<std::string> busy;  // the codes a busy mock answers with
  } codes;
};

// Names the provider in test output.
void PrintTo(const FaceProvider& provider, std::ostream* os);

// An AdapterTest whose provider is a face provider: its mock and adapter
// are started in SetUp, the mock trusting the provider's own public key.
class FaceProviderTest : public AdapterTest {
 protected:
  explicit FaceProviderTest(FaceProvider provider)
      : provider_(std::move(provider)) {}

  void SetUp() override;

  // Starts the provider's mock with `behaviour`, verifying signatures with
  // the PEM key `pem`, and the adapter `config` in front of it (by default
  // the provider's config).
  void StartMock(const ::idgate::config::v1::MockBehaviour& behaviour,
                 const std::string& pem);
  void StartMock(const ::idgate::config::v1::MockBehaviour& behaviour,
                 const std::string& pem,
                 const google::protobuf::Message& config);

  // `label`'s name and ID number with the face image `<label>.jpg`.
  MinimizedSubject OwnFace(const std::string& label);

  // The request the adapter prepares for `subject` (empty if it cannot).
  template <typename Request>
  Request Prepared(const MinimizedSubject& subject) {
    Request request;
    PrepareInto(subject, request);
    return request;
  }

  // The (field, form) pairs the adapter sends for adult-match when the
  // caller gave name, ID number, image and liveness video, and the policy
  // allows `policy`.
  std::set<FieldForm> SentFields(const std::set<FieldForm>& policy);

  // `request`, as the adapter prepared it for adult-match's own face, is
  // signed with the provider's key (`signature` is its signature field),
  // and carries only the subject's name, ID number and image, all
  // classified: what the egress guard will see and the ledger will record.
  void ExpectSignedWithOnlyTheSubjectFields(
      const google::protobuf::Message& request, absl::string_view signature);

  // Signs `request` again with the provider's key, after a deliberate
  // change.
  void Resign(google::protobuf::Message& request) const;

  const FaceProvider provider_;
  std::string public_key_;  // the provider's own, PEM

 private:
  void PrepareInto(const MinimizedSubject& subject,
                   google::protobuf::Message& request);
};

// What every face provider does alike, through its adapter.
class FaceCheckTest : public FaceProviderTest,
                      public ::testing::WithParamInterface<FaceProvider> {
 protected:
  FaceCheckTest() : FaceProviderTest(GetParam()) {}
};

}  // namespace idgate
