// Writes the seed corpus of the fuzz targets: tests/fuzz/corpus/validators/
// and tests/fuzz/corpus/request/. The files are committed; rerun this after
// changing the input format of a target:
//   build/tests/fuzz/fuzz_make_corpus tests/fuzz/corpus

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "idgate/v1/verification.pb.h"
#include "server/identity/testing/id_numbers.h"

namespace {

namespace v1 = ::idgate::v1;
using ::idgate::identity::testing::MakeIdNumber;
using ::idgate::identity::testing::WithWrongCheckCharacter;

// Selectors of validators_fuzzer.cc.
enum Selector : char {
  kId = 0,
  kBirthDate = 1,
  kMobile = 2,
  kCard = 3,
  kName = 4,
  kFace = 5,
  kVideo = 6,
  kIdentifiers = 7,
  kMasks = 8,
  kAge = 9,
};

const std::string kJpeg("\xFF\xD8\xFF\xE0\x00\x10JFIF\x00\x01\x01", 13);

std::string Png() {
  std::string png("\x89PNG\r\n\x1A\n\x00\x00\x00\x0DIHDR", 16);
  png +=
      std::string("\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00", 13);
  png += std::string("\x90\x77\x53\xDE", 4);
  return png;
}

std::string AgeInput(std::int64_t seconds, std::int16_t year, int month,
                     int day) {
  std::string out(12, '\0');
  std::memcpy(out.data(), &seconds, 8);
  std::memcpy(out.data() + 8, &year, 2);
  out[10] = static_cast<char>(month);
  out[11] = static_cast<char>(day);
  return out;
}

std::vector<std::pair<std::string, std::string>> ValidatorSeeds() {
  const std::string id = "11010519491231002X";
  auto seed = [](Selector s, const std::string& input) {
    return std::string(1, s) + input;
  };
  return {
      {"id_valid", seed(kId, id)},
      {"id_lowercase_x", seed(kId, "11010519491231002x")},
      {"id_valid_male_shanghai",
       seed(kId, MakeIdNumber("310104", "19851120", "135"))},
      {"id_leap_day", seed(kId, MakeIdNumber("440305", "20000229", "246"))},
      {"id_check_digit", seed(kId, WithWrongCheckCharacter(id))},
      {"id_province_99", seed(kId, MakeIdNumber("990105", "19900307", "447"))},
      {"id_feb_30", seed(kId, MakeIdNumber("110105", "20250230", "001"))},
      {"id_15_digits", seed(kId, "110105491231002")},
      {"id_fullwidth", seed(kId, "\xEF\xBC\x91\xEF\xBC\x91" + id.substr(2))},
      {"birth_date", seed(kBirthDate, id)},
      {"mobile_plus86", seed(kMobile, "+8613812345678")},
      {"mobile_0086", seed(kMobile, "008613812345678")},
      {"mobile_separators", seed(kMobile, "138-1234-5678")},
      {"card_valid", seed(kCard, "4111111111111111")},
      {"card_zeros", seed(kCard, "0000000000000000")},
      {"name_han", seed(kName, "欧阳娜娜")},
      {"name_dot", seed(kName, " 阿沛•阿旺晋美 ")},
      {"name_rlo", seed(kName, "张\xE2\x80\xAE三")},
      {"name_ext_b", seed(kName, "\xF0\xA0\x80\x80三")},
      {"face_jpeg", seed(kFace, kJpeg)},
      {"face_png", seed(kFace, Png())},
      {"face_truncated_png", seed(kFace, Png().substr(0, 20))},
      {"video", seed(kVideo, "video")},
      {"identifiers", seed(kIdentifiers, "esign.signer_identity")},
      {"masks_name", seed(kMasks, "张三")},
      {"masks_id", seed(kMasks, id)},
      {"age_birthday",
       seed(kAge, AgeInput(1741968000, 2007, 3, 15))},  // 2025-03-14 16:00 UTC
      {"age_leap", seed(kAge, AgeInput(1772294400, 2008, 2, 29))},
  };
}

v1::VerifyRequest Base() {
  v1::VerifyRequest r;
  r.set_request_id("req-1");
  r.set_purpose("esign.signer_identity");
  r.mutable_consent()->set_consent_id("consent-1");
  r.mutable_consent()->mutable_granted_at()->set_seconds(1749900000);
  r.mutable_consent()->add_scopes(v1::CONSENT_SCOPE_IDENTITY);
  r.mutable_consent()->add_recipients("carrier_mock");
  return r;
}

v1::VerifyRequest Carrier(const std::string& id = "11010519491231002X") {
  v1::VerifyRequest r = Base();
  r.mutable_carrier_three_factor()->set_name("张三");
  r.mutable_carrier_three_factor()->set_id_number(id);
  r.mutable_carrier_three_factor()->set_mobile("+8613812345678");
  return r;
}

v1::VerifyRequest Bank() {
  v1::VerifyRequest r = Base();
  r.mutable_consent()->add_scopes(v1::CONSENT_SCOPE_FINANCIAL_ACCOUNT);
  r.mutable_bank_four_factor()->set_name("阿沛·阿旺晋美");
  r.mutable_bank_four_factor()->set_id_number(
      MakeIdNumber("540102", "19660606", "028"));
  r.mutable_bank_four_factor()->set_bank_card_number("4111111111111111");
  r.mutable_bank_four_factor()->set_mobile("13912345678");
  return r;
}

v1::VerifyRequest Face(const std::string& image) {
  v1::VerifyRequest r = Base();
  r.mutable_consent()->add_scopes(v1::CONSENT_SCOPE_BIOMETRIC);
  r.mutable_face_verification()->set_name("John");
  r.mutable_face_verification()->set_id_number(
      MakeIdNumber("830000", "19790101", "024"));
  r.mutable_face_verification()->set_face_image(image);
  return r;
}

template <typename Mutate>
v1::VerifyRequest With(v1::VerifyRequest r, Mutate mutate) {
  mutate(r);
  return r;
}

std::vector<std::pair<std::string, std::string>> RequestSeeds() {
  using R = v1::VerifyRequest;
  const std::vector<std::pair<std::string, R>> requests = {
      {"carrier_valid", Carrier()},
      {"bank_valid", Bank()},
      {"face_jpeg", Face(kJpeg + "px")},
      {"face_png_with_video",
       With(Face(Png()),
            [](R& r) {
              r.mutable_face_verification()->set_liveness_video("vid");
            })},
      {"carrier_underage", Carrier(MakeIdNumber("440305", "20150101", "013"))},
      {"carrier_turns_18_today",
       Carrier(MakeIdNumber("110105", "20070615", "001"))},
      {"empty", R()},
      {"no_check", Base()},
      {"no_consent", With(Carrier(), [](R& r) { r.clear_consent(); })},
      {"consent_future",
       With(Carrier(),
            [](R& r) {
              r.mutable_consent()->mutable_granted_at()->set_seconds(
                  1800000000);
            })},
      {"consent_bad_nanos",
       With(Carrier(),
            [](R& r) {
              r.mutable_consent()->mutable_granted_at()->set_nanos(-1);
            })},
      {"consent_unknown_scope", With(Carrier(),
                                     [](R& r) {
                                       r.mutable_consent()->add_scopes(
                                           static_cast<v1::ConsentScope>(42));
                                     })},
      {"request_id_bad",
       With(Carrier(), [](R& r) { r.set_request_id("req 1/2"); })},
      {"purpose_bad", With(Carrier(), [](R& r) { r.set_purpose("Esign."); })},
      {"carrier_id_check_digit",
       Carrier(WithWrongCheckCharacter("11010519491231002X"))},
      {"carrier_id_15", Carrier("110105491231002")},
      {"carrier_mobile_12", With(Carrier(),
                                 [](R& r) {
                                   r.mutable_carrier_three_factor()->set_mobile(
                                       "138123456789");
                                 })},
      {"carrier_name_crlf", With(Carrier(),
                                 [](R& r) {
                                   r.mutable_carrier_three_factor()->set_name(
                                       "张三\r\n");
                                 })},
      {"bank_card_luhn",
       With(Bank(),
            [](R& r) {
              r.mutable_bank_four_factor()->set_bank_card_number(
                  "4111111111111112");
            })},
      {"face_empty_image", Face("")},
      {"face_truncated_jpeg", Face("\xFF\xD8\xFF")},
      {"face_oversized", Face(kJpeg + std::string(300, 'p'))},
      {"face_video_oversized",
       With(Face(kJpeg),
            [](R& r) {
              r.mutable_face_verification()->set_liveness_video(
                  std::string(65, 'v'));
            })},
      {"all_fields_bad",
       With(R(),
            [](R& r) {
              r.set_purpose("x..y");
              r.mutable_bank_four_factor()->set_id_number("1234");
              r.mutable_bank_four_factor()->set_bank_card_number("0000");
            })},
  };
  std::vector<std::pair<std::string, std::string>> seeds;
  for (const auto& [name, request] : requests) {
    seeds.emplace_back(name, request.SerializeAsString());
  }
  return seeds;
}

bool WriteAll(const std::filesystem::path& dir,
              const std::vector<std::pair<std::string, std::string>>& seeds) {
  std::filesystem::create_directories(dir);
  for (const auto& [name, bytes] : seeds) {
    std::ofstream out(dir / name, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!out) {
      std::fprintf(stderr, "cannot write %s\n", (dir / name).c_str());
      return false;
    }
  }
  std::printf("%zu seeds in %s\n", seeds.size(), dir.c_str());
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s <corpus root>\n", argv[0]);
    return 2;
  }
  const std::filesystem::path root(argv[1]);
  return WriteAll(root / "validators", ValidatorSeeds()) &&
                 WriteAll(root / "request", RequestSeeds())
             ? 0
             : 1;
}
