#include "adapters/mock_support/identity_book.h"

#include <fstream>
#include <set>
#include <sstream>

#include "absl/strings/match.h"
#include "adapters/mock_support/face.h"
#include "adapters/mock_support/formats.h"
#include "core/digest.h"
#include "gtest/gtest.h"

namespace idgate {
namespace {

using ::idgate::mock::v1::CardState;

const std::string kTestdata = IDGATE_SOURCE_DIR "/config/testdata/";

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream content;
  content << in.rdbuf();
  return content.str();
}

class BookTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto book = IdentityBook::LoadFile(kTestdata + "identities.json");
    ASSERT_TRUE(book.ok()) << book.status();
    book_ = std::move(*book);
  }

  const IdentityBook::Person& Labelled(absl::string_view label) {
    const auto* person = book_->FindByLabel(label);
    EXPECT_NE(person, nullptr) << label;
    return person != nullptr ? *person : empty_;
  }

  std::unique_ptr<IdentityBook> book_;
  IdentityBook::Person empty_;
};

TEST_F(BookTest, EveryIdNumberHasAValidCheckCharacter) {
  ASSERT_GE(book_->proto().people_size(), 12);
  for (const auto& person : book_->proto().people()) {
    const std::string& id = person.id_number();
    ASSERT_EQ(id.size(), 18u) << person.label();
    EXPECT_EQ(mock::ResidentIdCheckChar(id.substr(0, 17)), id[17])
        << person.label();
    EXPECT_TRUE(mock::IsValidResidentId(id)) << person.label();
    EXPECT_TRUE(mock::IsValidName(person.name())) << person.label();
  }
}

TEST_F(BookTest, EveryCardPassesLuhnAndHasAState) {
  std::set<int> states;
  for (const auto& person : book_->proto().people()) {
    for (const auto& card : person.cards()) {
      EXPECT_TRUE(mock::IsValidCardNumber(card.number())) << person.label();
      EXPECT_TRUE(mock::IsValidMobile(card.reserved_mobile()))
          << person.label();
      EXPECT_NE(card.state(), CardState::CARD_STATE_UNSPECIFIED)
          << person.label();
      states.insert(card.state());
    }
  }
  EXPECT_EQ(states, (std::set<int>{CardState::CARD_STATE_ACTIVE,
                                   CardState::CARD_STATE_REPORTED_LOST,
                                   CardState::CARD_STATE_EXPIRED,
                                   CardState::CARD_STATE_RESTRICTED}));
}

TEST_F(BookTest, EveryMobileIsValidWithAnOperator) {
  for (const auto& person : book_->proto().people()) {
    for (const auto& mobile : person.mobiles()) {
      EXPECT_TRUE(mock::IsValidMobile(mobile.number())) << person.label();
      EXPECT_TRUE(mobile.operator_name() == "CMCC" ||
                  mobile.operator_name() == "CUCC" ||
                  mobile.operator_name() == "CTCC")
          << person.label();
    }
  }
}

TEST_F(BookTest, CoversTheDocumentedScenarios) {
  for (const char* label :
       {"adult-match", "carrier-mismatch", "no-record", "bank-mismatch",
        "card-lost", "card-expired", "card-restricted", "no-id-photo",
        "liveness-fail", "minor", "minority-name", "latin-name", "id-check-x",
        "satellite-segment", "multi-contact"}) {
    EXPECT_NE(book_->FindByLabel(label), nullptr) << label;
  }
  EXPECT_FALSE(Labelled("no-id-photo").has_id_photo());
  EXPECT_TRUE(Labelled("adult-match").has_id_photo());
  EXPECT_TRUE(absl::StrContains(Labelled("minority-name").name(), "·"));
  EXPECT_EQ(Labelled("id-check-x").id_number().back(), 'X');
  EXPECT_TRUE(Labelled("carrier-mismatch").mobiles().empty());
  EXPECT_TRUE(Labelled("no-record").mobiles().empty());
  EXPECT_TRUE(Labelled("no-record").cards().empty());
}

// Both sexes (17th digit odd = male) and several provinces.
TEST_F(BookTest, IsVaried) {
  std::set<int> sexes;
  std::set<std::string> provinces;
  for (const auto& person : book_->proto().people()) {
    sexes.insert((person.id_number()[16] - '0') % 2);
    provinces.insert(person.id_number().substr(0, 2));
  }
  EXPECT_EQ(sexes.size(), 2u);
  EXPECT_GE(provinces.size(), 8u);
}

// Only the minor is under 18 in 2026 (the server must refuse him before
// any provider call); everyone else is an adult all year.
TEST_F(BookTest, OnlyTheMinorIsUnder18In2026) {
  for (const auto& person : book_->proto().people()) {
    const auto birth = mock::ResidentIdBirthDate(person.id_number());
    ASSERT_TRUE(birth.has_value()) << person.label();
    const absl::CivilDay eighteenth(birth->year() + 18, birth->month(),
                                    birth->day());
    if (person.label() == "minor") {
      EXPECT_GT(eighteenth, absl::CivilDay(2026, 12, 31));
    } else {
      EXPECT_LE(eighteenth, absl::CivilDay(2026, 1, 1)) << person.label();
    }
  }
}

TEST_F(BookTest, FaceImagesMatchTheirDigests) {
  for (const auto& person : book_->proto().people()) {
    std::string image =
        ReadFile(kTestdata + "faces/" + person.label() + ".jpg");
    if (image.empty()) {
      image = ReadFile(kTestdata + "faces/" + person.label() + ".png");
      ASSERT_TRUE(absl::StartsWith(image, "\x89PNG\r\n\x1a\n"))
          << person.label();
    } else {
      EXPECT_TRUE(absl::StartsWith(image, "\xff\xd8\xff\xe0"))
          << person.label();
    }
    EXPECT_LT(image.size(), 1024u);
    EXPECT_EQ(FaceDigest(image), person.face_sha256()) << person.label();
    EXPECT_FALSE(LivenessFails(image)) << person.label();
  }
}

TEST_F(BookTest, SpoofAndStranger) {
  const std::string spoof =
      ReadFile(kTestdata + "faces/liveness-fail-spoof.jpg");
  EXPECT_EQ(FaceDigest(spoof), Labelled("liveness-fail").face_sha256());
  EXPECT_TRUE(LivenessFails(spoof));
  const std::string stranger = ReadFile(kTestdata + "faces/stranger.jpg");
  ASSERT_FALSE(stranger.empty());
  for (const auto& person : book_->proto().people()) {
    EXPECT_NE(FaceDigest(stranger), person.face_sha256());
  }
  EXPECT_TRUE(
      LivenessFails(ReadFile(kTestdata + "faces/liveness-video-fail.mp4")));
  const std::string ok_video =
      ReadFile(kTestdata + "faces/liveness-video-ok.mp4");
  ASSERT_FALSE(ok_video.empty());
  EXPECT_FALSE(LivenessFails(ok_video));
}

TEST_F(BookTest, LooksUpPlainAndHashedValues) {
  const auto& adult = Labelled("adult-match");
  const std::string& id = adult.id_number();
  EXPECT_EQ(book_->FindById(id, ::idgate::v1::PII_FORM_PLAIN), &adult);
  EXPECT_EQ(book_->FindById(Sha256Hex(id), ::idgate::v1::PII_FORM_SHA256),
            &adult);
  EXPECT_EQ(book_->FindById(Sm3Hex(id), ::idgate::v1::PII_FORM_SM3), &adult);
  // A digest is not a plain value, and forms do not cross.
  EXPECT_EQ(book_->FindById(Sha256Hex(id), ::idgate::v1::PII_FORM_PLAIN),
            nullptr);
  EXPECT_EQ(book_->FindById(Sha256Hex(id), ::idgate::v1::PII_FORM_SM3),
            nullptr);

  const std::string& mobile = adult.mobiles(0).number();
  EXPECT_EQ(
      book_->FindMobile(Sm3Hex(mobile), ::idgate::v1::PII_FORM_SM3).person,
      &adult);
  EXPECT_EQ(
      book_->FindMobile("13700000009", ::idgate::v1::PII_FORM_PLAIN).person,
      nullptr);
  const std::string& card = adult.cards(0).number();
  EXPECT_EQ(book_->FindCard(card, ::idgate::v1::PII_FORM_PLAIN).card,
            &adult.cards(0));
  EXPECT_TRUE(IdentityBook::Matches(adult.name(), Sm3Hex(adult.name()),
                                    ::idgate::v1::PII_FORM_SM3));
  EXPECT_FALSE(
      IdentityBook::Matches(adult.name(), "", ::idgate::v1::PII_FORM_PLAIN));
}

TEST(IdentityBookTest, RejectsUnknownFields) {
  EXPECT_FALSE(IdentityBook::FromJson(R"({"people": [], "extra": 1})").ok());
  EXPECT_FALSE(IdentityBook::FromJson(
                   R"({"people": [{"label": "a", "idNumber": "1", "x": 2}]})")
                   .ok());
}

TEST(IdentityBookTest, RejectsDuplicates) {
  EXPECT_FALSE(IdentityBook::FromJson(R"({"people": [
      {"label": "a", "idNumber": "1"}, {"label": "b", "idNumber": "1"}]})")
                   .ok());
  EXPECT_FALSE(IdentityBook::FromJson(R"({"people": [
      {"label": "a", "idNumber": "1"}, {"label": "a", "idNumber": "2"}]})")
                   .ok());
  EXPECT_FALSE(IdentityBook::FromJson(R"({"people": [
      {"label": "a", "idNumber": "1", "mobiles": [{"number": "13800000001"}]},
      {"label": "b", "idNumber": "2", "mobiles": [{"number": "13800000001"}]}]})")
                   .ok());
  EXPECT_TRUE(IdentityBook::FromJson(R"({"people": [
      {"label": "a", "idNumber": "1"}, {"label": "b", "idNumber": "2"}]})")
                  .ok());
}

TEST(IdentityBookTest, MissingFileIsAnError) {
  EXPECT_EQ(IdentityBook::LoadFile("/nonexistent/book.json").status().code(),
            absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace idgate
