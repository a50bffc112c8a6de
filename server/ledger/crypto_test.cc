#include "server/ledger/crypto.h"

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/escaping.h"
#include "gtest/gtest.h"

namespace idgate {
namespace {

std::string Hex(absl::string_view hex) { return absl::HexStringToBytes(hex); }

TEST(Sha256Test, KnownVector) {
  EXPECT_EQ(Sha256Hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(Sha256Hex(""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Sha256("abc").size(), 32u);
}

// RFC 4231 test case 2.
TEST(HmacSha256Test, Rfc4231TestCase2) {
  absl::StatusOr<std::string> mac =
      HmacSha256("Jefe", "what do ya want for nothing?");
  ASSERT_TRUE(mac.ok()) << mac.status();
  EXPECT_EQ(absl::BytesToHexString(*mac),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(HmacSha256Test, EmptyKeyRefused) {
  EXPECT_FALSE(HmacSha256("", "data").ok());
  EXPECT_FALSE(HmacSha256Key::Create("").ok());
}

// A prepared key gives the same MACs, reused many times from many threads
// (RFC 4231 test case 2 and another message alternating: nothing carries
// over from one MAC to the next).
TEST(HmacSha256Test, PreparedKeyIsReusableAcrossThreads) {
  absl::StatusOr<HmacSha256Key> key = HmacSha256Key::Create("Jefe");
  ASSERT_TRUE(key.ok()) << key.status();
  const std::string case2 =
      "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843";
  const std::string other = *HmacSha256("Jefe", "Hi There");
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 500; ++i) {
        if (absl::BytesToHexString(*key->Mac("what do ya want for nothing?")) !=
            case2)
          ++wrong;
        if (*key->Mac("Hi There") != other) ++wrong;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(wrong.load(), 0);
}

// RFC 8032 section 7.1, TEST 1 (empty message).
TEST(Ed25519Test, Rfc8032TestVector1) {
  absl::StatusOr<Ed25519PrivateKey> key = Ed25519PrivateKey::FromRaw(
      Hex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"));
  ASSERT_TRUE(key.ok()) << key.status();
  absl::StatusOr<Ed25519PublicKey> public_key = key->PublicKey();
  ASSERT_TRUE(public_key.ok()) << public_key.status();
  EXPECT_EQ(absl::BytesToHexString(public_key->raw()),
            "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
  absl::StatusOr<std::string> signature = key->Sign("");
  ASSERT_TRUE(signature.ok()) << signature.status();
  EXPECT_EQ(absl::BytesToHexString(*signature),
            "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555f"
            "b8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b");
  EXPECT_TRUE(public_key->Verify("", *signature));
  EXPECT_EQ(public_key->KeyId(), Sha256Hex(public_key->raw()));
}

TEST(Ed25519Test, PemRoundTripAndRejections) {
  absl::StatusOr<Ed25519PrivateKey> key = Ed25519PrivateKey::Generate();
  ASSERT_TRUE(key.ok()) << key.status();
  absl::StatusOr<std::string> private_pem = key->PrivateKeyPem();
  absl::StatusOr<std::string> public_pem = key->PublicKeyPem();
  ASSERT_TRUE(private_pem.ok() && public_pem.ok());

  absl::StatusOr<Ed25519PrivateKey> reloaded =
      Ed25519PrivateKey::FromPem(*private_pem);
  ASSERT_TRUE(reloaded.ok()) << reloaded.status();
  absl::StatusOr<Ed25519PublicKey> public_key =
      Ed25519PublicKey::FromPem(*public_pem);
  ASSERT_TRUE(public_key.ok()) << public_key.status();

  absl::StatusOr<std::string> signature = reloaded->Sign("message");
  ASSERT_TRUE(signature.ok());
  EXPECT_TRUE(public_key->Verify("message", *signature));
  EXPECT_FALSE(public_key->Verify("messagE", *signature));
  std::string bad = *signature;
  bad[10] ^= 1;
  EXPECT_FALSE(public_key->Verify("message", bad));
  EXPECT_FALSE(public_key->Verify("message", signature->substr(1)));

  absl::StatusOr<Ed25519PublicKey> other =
      Ed25519PrivateKey::Generate()->PublicKey();
  ASSERT_TRUE(other.ok());
  EXPECT_FALSE(other->Verify("message", *signature));

  EXPECT_FALSE(Ed25519PrivateKey::FromPem("not a key").ok());
  EXPECT_FALSE(Ed25519PublicKey::FromPem(*private_pem).ok());
  EXPECT_FALSE(Ed25519PublicKey::FromRaw("short").ok());
  EXPECT_FALSE(Ed25519PrivateKey::FromPemFile("/nonexistent/key.pem").ok());
}

}  // namespace
}  // namespace idgate
