#include "server/ledger/subject_ref.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "server/ledger/testing.h"

namespace idgate {
namespace {

// RFC 4231 test case 6: a 131-byte key (HMAC-SHA256 keys shorter than 32
// bytes, like test case 2's "Jefe", are refused by the keyring).
const std::string kRfc4231Case6Key(131, '\xaa');
constexpr char kRfc4231Case6Data[] =
    "Test Using Larger Than Block-Size Key - Hash Key First";
constexpr char kRfc4231Case6Mac[] =
    "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54";

constexpr char kIdNumber[] = "11010519491231002X";

TEST(SubjectKeyringTest, ReferenceIsHmacSha256KnownVector) {
  absl::StatusOr<SubjectKeyring> keyring =
      SubjectKeyring::FromKeys({{1, kRfc4231Case6Key}});
  ASSERT_TRUE(keyring.ok()) << keyring.status();
  SubjectReference ref = keyring->Reference(kRfc4231Case6Data);
  EXPECT_EQ(ref.ref, kRfc4231Case6Mac);
  EXPECT_EQ(ref.key_version, 1u);
}

TEST(SubjectKeyringTest, HighestVersionSignsAndAllVersionsLookUp) {
  const std::string key1(32, 'a');
  const std::string key2(32, 'b');
  absl::StatusOr<SubjectKeyring> keyring =
      SubjectKeyring::FromKeys({{1, key1}, {7, key2}});
  ASSERT_TRUE(keyring.ok()) << keyring.status();
  EXPECT_EQ(keyring->current_version(), 7u);

  SubjectReference current = keyring->Reference(kIdNumber);
  EXPECT_EQ(current.key_version, 7u);
  EXPECT_EQ(current.ref.size(), 64u);
  EXPECT_EQ(current.ref.find(kIdNumber), std::string::npos);

  std::vector<SubjectReference> all = keyring->AllReferences(kIdNumber);
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0], current);
  EXPECT_EQ(all[1].key_version, 1u);
  // Rotation changes the pseudonym: versions must not collide.
  EXPECT_NE(all[0].ref, all[1].ref);

  // Deterministic per key, different per subject.
  EXPECT_EQ(keyring->Reference(kIdNumber), current);
  EXPECT_NE(keyring->Reference("110105194912310029").ref, current.ref);
}

TEST(SubjectKeyringTest, RefusesBadKeySets) {
  EXPECT_FALSE(SubjectKeyring::FromKeys({}).ok());
  // Too short: RFC 4231 test case 2's key.
  absl::StatusOr<SubjectKeyring> short_key =
      SubjectKeyring::FromKeys({{1, "Jefe"}});
  ASSERT_FALSE(short_key.ok());
  EXPECT_EQ(short_key.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(SubjectKeyring::FromKeys({{1, std::string(31, 'k')}}).ok());
  EXPECT_FALSE(SubjectKeyring::FromKeys({{0, std::string(32, 'k')}}).ok());
  EXPECT_FALSE(SubjectKeyring::FromKeys(
                   {{2, std::string(32, 'k')}, {2, std::string(32, 'l')}})
                   .ok());
}

TEST(SubjectKeyringTest, LoadsRawKeyFiles) {
  testing::TempDir dir;
  // A trailing newline is key material too: files are used byte for byte.
  testing::WriteFileOrDie(dir.Join("k1"), std::string(40, 'x') + "\n");
  testing::WriteFileOrDie(dir.Join("k2"), kRfc4231Case6Key);
  testing::WriteFileOrDie(dir.Join("short"), "0123456789");

  absl::StatusOr<SubjectKeyring> keyring =
      SubjectKeyring::Load({{1, dir.Join("k1")}, {2, dir.Join("k2")}});
  ASSERT_TRUE(keyring.ok()) << keyring.status();
  EXPECT_EQ(keyring->Reference(kRfc4231Case6Data).ref, kRfc4231Case6Mac);

  absl::StatusOr<SubjectKeyring> short_key =
      SubjectKeyring::Load({{3, dir.Join("short")}});
  ASSERT_FALSE(short_key.ok());
  EXPECT_NE(short_key.status().message().find("version 3"), std::string::npos);
  // The error names the file, never the key bytes.
  EXPECT_EQ(short_key.status().message().find("0123456789"), std::string::npos);

  absl::StatusOr<SubjectKeyring> missing =
      SubjectKeyring::Load({{1, dir.Join("absent")}});
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace idgate
