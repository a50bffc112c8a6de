#include "adapters/signing/signing.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <cstdio>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "idgate/provider/v1/alipay.pb.h"
#include "idgate/provider/v1/cfca.pb.h"

namespace idgate {
namespace signing {
namespace {

using ::idgate::provider::v1::CertifyFaceRequest;
using ::idgate::provider::v1::CompareFaceRequest;

// Tests run from the repository root.
std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

const char kSha256Abc[] =
    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

CompareFaceRequest CfcaRequest() {
  CompareFaceRequest request;
  request.set_institution_id("INST01");
  request.set_tx_code("2301");
  request.set_tx_sn("d-1");
  request.set_timestamp("20240101120000");
  request.set_name("张三");
  request.set_id_number("11010519491231002X");
  request.set_face_image("abc");
  request.set_sign_alg("SHA256withRSA");
  request.set_signature("ignored");
  return request;
}

CertifyFaceRequest AlipayRequest() {
  CertifyFaceRequest request;
  request.set_app_id("2021000000000000");
  request.set_method("alipay.user.certify.open.certify");
  request.set_charset("utf-8");
  request.set_sign_type("RSA2");
  request.set_timestamp("2024-01-01 12:00:00");
  request.set_version("1.0");
  auto* biz = request.mutable_biz_content();
  biz->set_outer_order_no("d-2");
  biz->set_biz_code("FACE_CERTIFY");
  biz->mutable_identity_param()->set_identity_type("CERT_INFO");
  biz->mutable_identity_param()->set_cert_type("IDENTITY_CARD");
  biz->mutable_identity_param()->set_cert_name("张三");
  biz->mutable_identity_param()->set_cert_no("11010519491231002X");
  biz->set_face_image("abc");
  return request;
}

TEST(CanonicalStringTest, CfcaSortedWithBytesAsDigestAndNoSignature) {
  auto canonical = CanonicalString(CfcaRequest(), "signature");
  ASSERT_TRUE(canonical.ok()) << canonical.status();
  // liveness_video is empty, so absent.
  EXPECT_EQ(*canonical, std::string("face_image=") + kSha256Abc +
                            "&id_number=11010519491231002X"
                            "&institution_id=INST01"
                            "&name=张三"
                            "&sign_alg=SHA256withRSA"
                            "&timestamp=20240101120000"
                            "&tx_code=2301"
                            "&tx_sn=d-1");
}

TEST(CanonicalStringTest, AlipayNestedFieldsAreDottedPaths) {
  CertifyFaceRequest request = AlipayRequest();
  request.set_sign("ignored");
  auto canonical = CanonicalString(request, "sign");
  ASSERT_TRUE(canonical.ok()) << canonical.status();
  EXPECT_EQ(*canonical,
            std::string("app_id=2021000000000000"
                        "&biz_content.biz_code=FACE_CERTIFY"
                        "&biz_content.face_image=") +
                kSha256Abc +
                "&biz_content.identity_param.cert_name=张三"
                "&biz_content.identity_param.cert_no=11010519491231002X"
                "&biz_content.identity_param.cert_type=IDENTITY_CARD"
                "&biz_content.identity_param.identity_type=CERT_INFO"
                "&biz_content.outer_order_no=d-2"
                "&charset=utf-8"
                "&method=alipay.user.certify.open.certify"
                "&sign_type=RSA2"
                "&timestamp=2024-01-01 12:00:00"
                "&version=1.0");
}

TEST(CanonicalStringTest, OnlyTheTopLevelSignatureFieldIsExcluded) {
  // A nested field that happens to be called like the signature is signed.
  CompareFaceRequest request = CfcaRequest();
  auto with = CanonicalString(request, "signature");
  request.set_signature("other");
  auto again = CanonicalString(request, "signature");
  ASSERT_TRUE(with.ok() && again.ok());
  EXPECT_EQ(*with, *again);
  auto including = CanonicalString(request, "none");
  ASSERT_TRUE(including.ok());
  EXPECT_NE(including->find("signature=other"), std::string::npos);
}

TEST(CanonicalStringTest, UnknownFieldsAreRefused) {
  CompareFaceRequest request = CfcaRequest();
  request.GetReflection()->MutableUnknownFields(&request)->AddVarint(999, 1);
  EXPECT_FALSE(CanonicalString(request, "signature").ok());
}

TEST(CanonicalStringTest, ChangingOneImageByteChangesTheString) {
  CompareFaceRequest request = CfcaRequest();
  auto before = CanonicalString(request, "signature");
  request.set_face_image("abd");
  auto after = CanonicalString(request, "signature");
  ASSERT_TRUE(before.ok() && after.ok());
  EXPECT_NE(*before, *after);
}

class SigningTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto signer =
        RsaSigner::FromFile("config/dev-secrets/cfca-signing.key",
                            "providers[cfca].adapter.signing_key_file");
    ASSERT_TRUE(signer.ok()) << signer.status();
    signer_ = std::move(*signer);
    auto verifier = RsaVerifier::FromPem(
        ReadFile("config/dev-secrets/cfca-signing.pub.pem"));
    ASSERT_TRUE(verifier.ok()) << verifier.status();
    verifier_ = std::move(*verifier);
  }
  std::unique_ptr<RsaSigner> signer_;
  std::unique_ptr<RsaVerifier> verifier_;
};

TEST_F(SigningTest, RoundTrip) {
  CompareFaceRequest request = CfcaRequest();
  auto signature = SignRequest(*signer_, request, "signature");
  ASSERT_TRUE(signature.ok()) << signature.status();
  EXPECT_EQ(signature->size(), 344u);  // base64 of 256 bytes
  request.set_signature(*signature);
  EXPECT_TRUE(
      VerifyRequest(*verifier_, request, "signature", request.signature()));
}

TEST_F(SigningTest, SignIntoStoresTheSignatureInItsField) {
  CompareFaceRequest request = CfcaRequest();
  ASSERT_TRUE(SignInto(*signer_, request, "signature", "cfca").ok());
  EXPECT_TRUE(
      VerifyRequest(*verifier_, request, "signature", request.signature()));

  // A field that cannot hold it: nothing is signed, the provider is named.
  for (const char* field : {"nope", "face_image"}) {
    CompareFaceRequest unsigned_request = CfcaRequest();
    const absl::Status status =
        SignInto(*signer_, unsigned_request, field, "cfca");
    EXPECT_EQ(status.code(), absl::StatusCode::kInternal) << field;
    EXPECT_EQ(status.message().substr(0, 27), "cfca: cannot sign request: ");
    EXPECT_EQ(unsigned_request.signature(), "ignored");
  }
}

TEST_F(SigningTest, TamperedFieldsAreRefused) {
  const CompareFaceRequest original = CfcaRequest();
  auto signature = SignRequest(*signer_, original, "signature");
  ASSERT_TRUE(signature.ok());
  const std::vector<std::function<void(CompareFaceRequest&)>> tamperings = {
      [](CompareFaceRequest& r) { r.set_name("李四"); },
      [](CompareFaceRequest& r) { r.set_id_number("110105194912310021"); },
      [](CompareFaceRequest& r) { r.mutable_face_image()->append("x"); },
      [](CompareFaceRequest& r) { r.set_liveness_video("video"); },
      [](CompareFaceRequest& r) { r.set_tx_sn("d-2"); },
      [](CompareFaceRequest& r) { r.clear_timestamp(); },
  };
  for (size_t i = 0; i < tamperings.size(); ++i) {
    CompareFaceRequest request = original;
    tamperings[i](request);
    EXPECT_FALSE(VerifyRequest(*verifier_, request, "signature", *signature))
        << "tampering " << i;
  }
}

TEST_F(SigningTest, MissingOrMalformedSignatureIsRefused) {
  const CompareFaceRequest request = CfcaRequest();
  EXPECT_FALSE(VerifyRequest(*verifier_, request, "signature", ""));
  EXPECT_FALSE(VerifyRequest(*verifier_, request, "signature", "not base64!"));
  EXPECT_FALSE(VerifyRequest(*verifier_, request, "signature", "AAAA"));
}

TEST_F(SigningTest, OtherKeyIsRefused) {
  auto alipay_signer = RsaSigner::FromFile(
      "config/dev-secrets/alipay-signing.key", "alipay.signing_key_file");
  ASSERT_TRUE(alipay_signer.ok());
  const CompareFaceRequest request = CfcaRequest();
  auto signature = SignRequest(**alipay_signer, request, "signature");
  ASSERT_TRUE(signature.ok());
  EXPECT_FALSE(VerifyRequest(*verifier_, request, "signature", *signature));
}

TEST(KeyLoadingTest, ErrorsNameTheConfigFieldAndNeverTheContent) {
  const std::string field = "providers[alipay].adapter.signing_key_file";
  auto missing = RsaSigner::FromFile("/nonexistent/key.pem", field);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().message(), field + ": cannot read");

  auto empty_path = RsaSigner::FromFile("", field);
  ASSERT_FALSE(empty_path.ok());
  EXPECT_EQ(empty_path.status().message(), field + ": required");

  const std::string path = testing::TempDir() + "/not-a-key.pem";
  {
    std::ofstream out(path);
    out << "SECRET-CONTENT-1234567890\n";
  }
  auto garbage = RsaSigner::FromFile(path, field);
  ASSERT_FALSE(garbage.ok());
  EXPECT_EQ(garbage.status().message().find(field), 0u);
  EXPECT_EQ(garbage.status().message().find("SECRET"), std::string::npos);
  std::remove(path.c_str());
}

TEST(KeyLoadingTest, PublicKeyIsNotAPrivateKey) {
  EXPECT_FALSE(
      RsaSigner::FromPem(ReadFile("config/dev-secrets/cfca-signing.pub.pem"))
          .ok());
}

std::string PemOf(EVP_PKEY* key) {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  long size = BIO_get_mem_data(bio, &data);
  std::string pem(data, size);
  BIO_free(bio);
  return pem;
}

TEST(KeyLoadingTest, ShortAndNonRsaKeysAreRefused) {
  EVP_PKEY* small = EVP_RSA_gen(1024);
  ASSERT_NE(small, nullptr);
  EXPECT_FALSE(RsaSigner::FromPem(PemOf(small)).ok());
  EVP_PKEY_free(small);

  EVP_PKEY* ed = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
  ASSERT_NE(ed, nullptr);
  EXPECT_FALSE(RsaSigner::FromPem(PemOf(ed)).ok());
  EVP_PKEY_free(ed);
}

}  // namespace
}  // namespace signing
}  // namespace idgate
