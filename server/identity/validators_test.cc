#include "server/identity/validators.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/identity/testing/id_numbers.h"

namespace idgate::identity {
namespace {

using ::idgate::identity::testing::MakeIdNumber;
using ::idgate::identity::testing::WithWrongCheckCharacter;

// Times are written in UTC on purpose: Asia/Shanghai is UTC+8, so Shanghai
// midnight is 16:00 UTC the day before.
absl::Time Utc(int y, int mo, int d, int h = 0, int mi = 0, int s = 0) {
  return absl::FromCivil(absl::CivilSecond(y, mo, d, h, mi, s),
                         absl::UTCTimeZone());
}

// 2025-06-15 12:00 in Shanghai.
const absl::Time kNow = Utc(2025, 6, 15, 4);

// Expected outcome: a rule name, or "" with the normalized value.
struct Case {
  std::string label;
  std::string input;
  std::string rule;
  std::string normalized;
};

std::string Describe(const Case& c) { return c.label; }

template <typename Fn>
void RunCases(const std::vector<Case>& cases, Fn normalize) {
  for (const Case& c : cases) {
    SCOPED_TRACE(Describe(c));
    absl::StatusOr<std::string> result = normalize(c.input);
    if (c.rule.empty()) {
      ASSERT_TRUE(result.ok()) << result.status();
      EXPECT_EQ(*result, c.normalized);
    } else {
      ASSERT_FALSE(result.ok()) << "accepted: " << *result;
      EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument);
      EXPECT_EQ(result.status().message(), c.rule);
    }
  }
}

template <typename Fn>
void RunStatusCases(const std::vector<Case>& cases, Fn validate) {
  for (const Case& c : cases) {
    SCOPED_TRACE(Describe(c));
    absl::Status status = validate(c.input);
    if (c.rule.empty()) {
      EXPECT_TRUE(status.ok()) << status;
    } else {
      EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
      EXPECT_EQ(status.message(), c.rule);
    }
  }
}

// ---- Resident ID ----------------------------------------------------------

TEST(NormalizeIdNumberTest, Table) {
  // Pinned from GB 11643-1999 itself, so the check-digit helper is not the
  // only source of truth.
  const std::string kStandardExample = "11010519491231002X";
  const std::string kValid = MakeIdNumber("110105", "19900307", "447");
  std::string x_in_middle = kValid;
  x_in_middle[10] = 'X';
  std::string lowercase_x = kStandardExample;
  lowercase_x[17] = 'x';

  const std::vector<Case> cases = {
      {"GB 11643 example, Beijing, female", kStandardExample, "",
       kStandardExample},
      {"lowercase x normalized", lowercase_x, "", kStandardExample},
      {"Beijing male", kValid, "", kValid},
      {"Shanghai male", MakeIdNumber("310104", "19851120", "135"), "",
       MakeIdNumber("310104", "19851120", "135")},
      {"Guangdong female leap day", MakeIdNumber("440305", "20000229", "246"),
       "", MakeIdNumber("440305", "20000229", "246")},
      {"Xinjiang male", MakeIdNumber("650102", "19700101", "011"), "",
       MakeIdNumber("650102", "19700101", "011")},
      {"Tibet female", MakeIdNumber("540102", "19660606", "028"), "",
       MakeIdNumber("540102", "19660606", "028")},
      {"Hong Kong residence permit", MakeIdNumber("810000", "19880808", "013"),
       "", MakeIdNumber("810000", "19880808", "013")},
      {"Taiwan residence permit", MakeIdNumber("830000", "19790101", "024"), "",
       MakeIdNumber("830000", "19790101", "024")},
      {"region below the province not checked",
       MakeIdNumber("519999", "19600101", "017"), "",
       MakeIdNumber("519999", "19600101", "017")},
      {"first day accepted", MakeIdNumber("110105", "19000101", "001"), "",
       MakeIdNumber("110105", "19000101", "001")},
      {"born today (Shanghai)", MakeIdNumber("110105", "20250615", "001"), "",
       MakeIdNumber("110105", "20250615", "001")},

      {"empty", "", "empty", ""},
      {"check digit off by one", WithWrongCheckCharacter(kValid), "check digit",
       ""},
      {"check X instead of digit", WithWrongCheckCharacter(kStandardExample),
       "check digit", ""},
      {"17 characters", kValid.substr(0, 17), "length", ""},
      {"19 characters", kValid + "0", "length", ""},
      {"15-digit legacy number", "110105491231002", "length", ""},
      {"X in the middle", x_in_middle, "characters", ""},
      {"Feb 29 in a non-leap year", MakeIdNumber("110105", "20230229", "001"),
       "birth date", ""},
      {"Feb 29 1900, not a leap year",
       MakeIdNumber("110105", "19000229", "001"), "birth date", ""},
      {"Feb 29 in a leap year", MakeIdNumber("110105", "20080229", "001"), "",
       MakeIdNumber("110105", "20080229", "001")},
      {"20250230", MakeIdNumber("110105", "20250230", "001"), "birth date", ""},
      {"month 13", MakeIdNumber("110105", "19901301", "001"), "birth date", ""},
      {"month 00", MakeIdNumber("110105", "19900001", "001"), "birth date", ""},
      {"day 00", MakeIdNumber("110105", "19900100", "001"), "birth date", ""},
      {"day 32", MakeIdNumber("110105", "19900132", "001"), "birth date", ""},
      {"Apr 31", MakeIdNumber("110105", "19900431", "001"), "birth date", ""},
      {"born tomorrow (Shanghai)", MakeIdNumber("110105", "20250616", "001"),
       "birth date", ""},
      {"before 1900", MakeIdNumber("110105", "18991231", "001"), "birth date",
       ""},
      {"GB 11643 example from 1880", "440524188001010014", "birth date", ""},
      {"province 00", MakeIdNumber("000105", "19900307", "447"), "province",
       ""},
      {"province 99", MakeIdNumber("990105", "19900307", "447"), "province",
       ""},
      {"province 10", MakeIdNumber("100105", "19900307", "447"), "province",
       ""},
      {"foreigner permanent residence 91",
       MakeIdNumber("911105", "19900307", "447"), "province", ""},
      {"full-width digits",
       "\xEF\xBC\x91\xEF\xBC\x91\xEF\xBC\x90\xEF\xBC\x91\xEF\xBC\x90\xEF\xBC"
       "\x95" +
           kStandardExample.substr(6),
       "characters", ""},
      {"zero-width space inside",
       kStandardExample.substr(0, 6) + "\xE2\x80\x8B" +
           kStandardExample.substr(6),
       "characters", ""},
      {"zero-width space at the end", kStandardExample + "\xE2\x80\x8B",
       "characters", ""},
      {"leading space", " " + kStandardExample, "characters", ""},
      {"inner space",
       kStandardExample.substr(0, 6) + " " + kStandardExample.substr(6),
       "characters", ""},
      {"hyphen",
       kStandardExample.substr(0, 6) + "-" + kStandardExample.substr(6),
       "characters", ""},
      {"NUL byte", kStandardExample.substr(0, 17) + std::string(1, '\0'),
       "characters", ""},
  };
  RunCases(cases,
           [](const std::string& in) { return NormalizeIdNumber(in, kNow); });
}

TEST(NormalizeIdNumberTest, FutureIsJudgedOnShanghaiDate) {
  const std::string id = MakeIdNumber("110105", "20250616", "001");
  // 2025-06-15 15:59:59 UTC is 23:59:59 in Shanghai: still the day before.
  EXPECT_EQ(NormalizeIdNumber(id, Utc(2025, 6, 15, 15, 59, 59)).status(),
            absl::InvalidArgumentError("birth date"));
  // 16:00 UTC is midnight in Shanghai: born today.
  EXPECT_TRUE(NormalizeIdNumber(id, Utc(2025, 6, 15, 16)).ok());
}

TEST(NormalizeIdNumberTest, AcceptsEveryProvincePrefix) {
  for (const char* province :
       {"11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34",
        "35", "36", "37", "41", "42", "43", "44", "45", "46", "50", "51", "52",
        "53", "54", "61", "62", "63", "64", "65", "71", "81", "82", "83"}) {
    const std::string id =
        MakeIdNumber(absl::StrCat(province, "0101"), "19900101", "001");
    EXPECT_TRUE(NormalizeIdNumber(id, kNow).ok()) << province;
  }
  int accepted = 0;
  for (int p = 0; p < 100; ++p) {
    const std::string id =
        MakeIdNumber(absl::StrCat(p / 10, p % 10, "0101"), "19900101", "001");
    if (NormalizeIdNumber(id, kNow).ok()) ++accepted;
  }
  EXPECT_EQ(accepted, 35);
}

TEST(BirthDateFromIdNumberTest, ExtractsDate) {
  EXPECT_EQ(*BirthDateFromIdNumber("11010519491231002X"),
            absl::CivilDay(1949, 12, 31));
  EXPECT_EQ(*BirthDateFromIdNumber(MakeIdNumber("440305", "20000229", "246")),
            absl::CivilDay(2000, 2, 29));
  EXPECT_EQ(BirthDateFromIdNumber("1101051949123100").status(),
            absl::InvalidArgumentError("length"));
  EXPECT_EQ(BirthDateFromIdNumber("110105194X12310021").status(),
            absl::InvalidArgumentError("characters"));
  EXPECT_EQ(BirthDateFromIdNumber("110105190002290021").status(),
            absl::InvalidArgumentError("birth date"));
}

// ---- Age ------------------------------------------------------------------

TEST(AgeTest, AroundEighteenthBirthdayAtShanghaiMidnight) {
  const absl::CivilDay birth(2007, 3, 15);
  struct AgeCase {
    std::string label;
    absl::Time now;
    int age;
  };
  const std::vector<AgeCase> cases = {
      {"18 years minus one day, Shanghai midnight", Utc(2025, 3, 13, 16), 17},
      {"last second before the birthday in Shanghai",
       Utc(2025, 3, 14, 15, 59, 59), 17},
      {"birthday starts in Shanghai (16:00 UTC the day before)",
       Utc(2025, 3, 14, 16), 18},
      {"UTC date still the 14th, Shanghai already the 15th",
       Utc(2025, 3, 14, 20), 18},
      {"last second of the birthday", Utc(2025, 3, 15, 15, 59, 59), 18},
      {"18 years plus one day", Utc(2025, 3, 15, 16), 18},
      {"one year later minus a second", Utc(2026, 3, 14, 15, 59, 59), 18},
      {"19th birthday", Utc(2026, 3, 14, 16), 19},
  };
  for (const AgeCase& c : cases) {
    SCOPED_TRACE(c.label);
    EXPECT_EQ(AgeInYears(birth, c.now), c.age);
    EXPECT_EQ(IsAdult(birth, c.now), c.age >= 18);
  }
}

TEST(AgeTest, LeapDayBirthdayCountsFromMarchFirstInCommonYears) {
  const absl::CivilDay birth(2008, 2, 29);
  EXPECT_EQ(AgeInYears(birth, Utc(2026, 2, 28, 4)), 17);
  EXPECT_FALSE(IsAdult(birth, Utc(2026, 2, 28, 15, 59, 59)));
  EXPECT_TRUE(IsAdult(birth, Utc(2026, 2, 28, 16)));       // Mar 1 in Shanghai
  EXPECT_EQ(AgeInYears(birth, Utc(2028, 2, 28, 16)), 20);  // Feb 29, 2028
}

TEST(AgeTest, FutureBirthDateIsNegativeAndNotAdult) {
  EXPECT_LT(AgeInYears(absl::CivilDay(2030, 1, 1), kNow), 0);
  EXPECT_FALSE(IsAdult(absl::CivilDay(2030, 1, 1), kNow));
  EXPECT_TRUE(IsAdult(absl::CivilDay(1900, 1, 1), kNow));
}

TEST(AgeTest, InfiniteClocksDoNotOverflow) {
  EXPECT_TRUE(IsAdult(absl::CivilDay(1990, 1, 1), absl::InfiniteFuture()));
  EXPECT_FALSE(IsAdult(absl::CivilDay(1990, 1, 1), absl::InfinitePast()));
  EXPECT_LT(AgeInYears(absl::CivilDay(1990, 1, 1), absl::InfinitePast()), 0);
  EXPECT_GT(AgeInYears(absl::CivilDay(1990, 1, 1), absl::InfiniteFuture()), 0);
}

// ---- Mobile ---------------------------------------------------------------

TEST(NormalizeMobileTest, Table) {
  const std::vector<Case> cases = {
      {"bare", "13812345678", "", "13812345678"},
      {"+86", "+8613812345678", "", "13812345678"},
      {"0086", "008613812345678", "", "13812345678"},
      {"86", "8613812345678", "", "13812345678"},
      {"13x", "13012345678", "", "13012345678"},
      {"19x", "19912345678", "", "19912345678"},

      {"empty", "", "empty", ""},
      {"prefix only", "+86", "length", ""},
      {"12 digits", "138123456789", "length", ""},
      {"10 digits", "1381234567", "length", ""},
      {"+86 and 12 digits", "+86138123456789", "length", ""},
      {"prefix stripped once", "+868613812345678", "length", ""},
      {"12x number", "12812345678", "format", ""},
      {"10x number", "10812345678", "format", ""},
      {"not starting with 1", "23812345678", "format", ""},
      {"spaces", "138 1234 5678", "characters", ""},
      {"dashes", "138-1234-5678", "characters", ""},
      {"space after +86", "+86 13812345678", "characters", ""},
      {"dash after +86", "+86-13812345678", "characters", ""},
      {"brackets", "(+86)13812345678", "characters", ""},
      {"other country code", "+8513812345678", "characters", ""},
      {"trailing newline", "13812345678\n", "characters", ""},
      {"full-width digits",
       "\xEF\xBC\x91\xEF\xBC\x93\xEF\xBC\x98"
       "12345678",
       "characters", ""},
  };
  RunCases(cases, [](const std::string& in) { return NormalizeMobile(in); });
}

// ---- Bank card ------------------------------------------------------------

// Appends the Luhn check digit to `payload` (ASCII digits).
std::string WithLuhnDigit(const std::string& payload) {
  int sum = 0;
  bool double_it = true;  // the check digit will be the rightmost
  for (auto it = payload.rbegin(); it != payload.rend(); ++it) {
    int d = *it - '0';
    if (double_it) d = d * 2 > 9 ? d * 2 - 9 : d * 2;
    sum += d;
    double_it = !double_it;
  }
  return payload +
         std::string(1, static_cast<char>('0' + (10 - sum % 10) % 10));
}

TEST(NormalizeBankCardTest, Table) {
  const std::string k19 = WithLuhnDigit("622202123456789012");
  const std::string k15 = WithLuhnDigit("62220212345678");
  std::string luhn_broken = k19;
  luhn_broken[18] = luhn_broken[18] == '9' ? '0' : luhn_broken[18] + 1;

  const std::vector<Case> cases = {
      {"Visa test 16", "4111111111111111", "", "4111111111111111"},
      {"Amex test 15", "378282246310005", "", "378282246310005"},
      {"UnionPay 19", k19, "", k19},
      {"UnionPay 15", k15, "", k15},
      {"16 failing Luhn", "4111111111111112", "luhn", ""},
      {"19 failing Luhn", luhn_broken, "luhn", ""},
      {"14 digits, Luhn ok", WithLuhnDigit("4111111111111"), "length", ""},
      {"20 digits, Luhn ok", WithLuhnDigit("6222021234567890123"), "length",
       ""},
      {"all zeros 16", "0000000000000000", "all zeros", ""},
      {"all zeros 19", "0000000000000000000", "all zeros", ""},
      {"empty", "", "empty", ""},
      {"spaces", "4111 1111 1111 1111", "characters", ""},
      {"dashes", "4111-1111-1111-1111", "characters", ""},
      {"letter", "411111111111111a", "characters", ""},
  };
  RunCases(cases, [](const std::string& in) { return NormalizeBankCard(in); });
}

// ---- Name -----------------------------------------------------------------

std::string Repeat(const std::string& s, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out += s;
  return out;
}

TEST(NormalizeNameTest, Table) {
  const std::string kDotName = "阿沛·阿旺晋美";
  const std::vector<Case> cases = {
      {"two Han", "张三", "", "张三"},
      {"four Han", "欧阳娜娜", "", "欧阳娜娜"},
      {"single Han", "张", "", "张"},
      {"middle dot", kDotName, "", kDotName},
      {"bullet normalized", "阿沛•阿旺晋美", "", kDotName},
      {"katakana middle dot normalized", "阿沛・阿旺晋美", "", kDotName},
      {"full-width full stop normalized", "阿沛．阿旺晋美", "", kDotName},
      {"ASCII full stop normalized", "阿沛.阿旺晋美", "", kDotName},
      {"two dots", "买买提·艾力·吐尔逊", "", "买买提·艾力·吐尔逊"},
      {"ASCII spaces trimmed", "  张三 ", "", "张三"},
      {"ideographic spaces trimmed", "\xE3\x80\x80张三\xE3\x80\x80", "",
       "张三"},
      {"extension A", "㐀三", "", "㐀三"},
      {"extension B", "\xF0\xA0\x80\x80三", "", "\xF0\xA0\x80\x80三"},
      {"Latin", "John", "", "John"},
      {"Latin-1 letter", "Müller", "", "Müller"},
      {"Latin with dot", "ZHANG·San", "", "ZHANG·San"},
      {"64 characters", Repeat("张", 64), "", Repeat("张", 64)},
      {"64 characters with spaces around", "  " + Repeat("张", 64) + "  ", "",
       Repeat("张", 64)},

      {"empty", "", "empty", ""},
      {"spaces only", "  \xE3\x80\x80 ", "empty", ""},
      {"65 characters", Repeat("张", 65), "length", ""},
      {"65 Latin letters", Repeat("a", 65), "length", ""},
      {"emoji", "张三\xF0\x9F\x98\x80", "characters", ""},
      {"right-to-left override", "张\xE2\x80\xAE三", "characters", ""},
      {"left-to-right embedding", "张\xE2\x80\xAA三", "characters", ""},
      {"first strong isolate", "张\xE2\x81\xA8三", "characters", ""},
      {"pop directional isolate", "张三\xE2\x81\xA9", "characters", ""},
      {"CRLF", "张三\r\n", "characters", ""},
      {"newline inside", "张\n三", "characters", ""},
      {"tab", "张\t三", "characters", ""},
      {"NUL", std::string("张\0三", 7), "characters", ""},
      {"DEL", "张\x7F三", "characters", ""},
      {"C1 control", "张\xC2\x85三", "characters", ""},
      {"zero-width space", "张\xE2\x80\x8B三", "characters", ""},
      {"inner space", "张 三", "characters", ""},
      {"no-break space", "\xC2\xA0张三", "characters", ""},
      {"combining diaeresis", "Mu\xCC\x88ller", "characters", ""},
      {"multiplication sign", "张×三", "characters", ""},
      {"digit", "张3", "characters", ""},
      {"CJK compatibility ideograph", "\xEF\xA4\x80三", "characters", ""},
      {"hyphen", "Jean-Luc", "characters", ""},
      {"leading dot", "·阿旺晋美", "format", ""},
      {"trailing dot", "阿沛·", "format", ""},
      {"double dot", "阿沛··阿旺晋美", "format", ""},
      {"dot variants doubled", "阿沛.•阿旺晋美", "format", ""},
      {"dot alone", "·", "format", ""},
      {"truncated UTF-8", "张\xE4\xB8", "encoding", ""},
      {"overlong slash", "\xC0\xAF", "encoding", ""},
      {"surrogate", "\xED\xA0\x80", "encoding", ""},
      {"above U+10FFFF", "\xF4\x90\x80\x80", "encoding", ""},
      {"lone continuation byte", "\x80张", "encoding", ""},
      {"invalid byte after 65 characters", Repeat("张", 65) + "\xFF",
       "encoding", ""},
  };
  RunCases(cases, [](const std::string& in) { return NormalizeName(in); });
}

// ---- Images ---------------------------------------------------------------

const std::string kJpegHeader("\xFF\xD8\xFF\xE0\x00\x10JFIF\x00", 11);

std::string PngHeader() {
  std::string png("\x89PNG\r\n\x1A\n", 8);
  png += std::string("\x00\x00\x00\x0DIHDR", 8);
  png +=
      std::string("\x00\x00\x01\x00\x00\x00\x01\x00\x08\x02\x00\x00\x00", 13);
  png += std::string("\x00\x00\x00\x00", 4);  // CRC, not checked
  return png;
}

TEST(ValidateFaceImageTest, Table) {
  const std::size_t kCap = kDefaultMaxFaceImageBytes;
  const std::string png = PngHeader();
  const std::vector<Case> cases = {
      {"JPEG", kJpegHeader + "data", "", ""},
      {"JPEG, smallest header", "\xFF\xD8\xFF\xDB", "", ""},
      {"PNG", png + "IDAT", "", ""},
      {"PNG, header only", png, "", ""},
      {"JPEG at the cap", kJpegHeader + std::string(kCap - 11, 'a'), "", ""},

      {"0 bytes", "", "empty", ""},
      {"oversized JPEG", kJpegHeader + std::string(kCap - 10, 'a'), "size", ""},
      {"oversized garbage", std::string(kCap + 1, 'a'), "size", ""},
      {"JPEG SOI only", "\xFF\xD8", "magic bytes", ""},
      {"truncated JPEG header", "\xFF\xD8\xFF", "magic bytes", ""},
      {"JPEG fill byte instead of a marker", "\xFF\xD8\xFF\xFF", "magic bytes",
       ""},
      {"JPEG stuffed zero", std::string("\xFF\xD8\xFF\x00", 4), "magic bytes",
       ""},
      {"PNG signature only", png.substr(0, 8), "magic bytes", ""},
      {"PNG truncated IHDR", png.substr(0, 20), "magic bytes", ""},
      {"PNG one byte short", png.substr(0, 32), "magic bytes", ""},
      {"PNG without IHDR first", png.substr(0, 12) + "IDAT" + png.substr(16),
       "magic bytes", ""},
      {"GIF", "GIF89a\x01\x00\x01\x00", "magic bytes", ""},
      {"text", "not an image", "magic bytes", ""},
  };
  RunStatusCases(cases,
                 [](const std::string& in) { return ValidateFaceImage(in); });
}

TEST(ValidateFaceImageTest, CapIsAParameter) {
  EXPECT_TRUE(ValidateFaceImage(kJpegHeader, kJpegHeader.size()).ok());
  EXPECT_EQ(ValidateFaceImage(kJpegHeader, kJpegHeader.size() - 1),
            absl::InvalidArgumentError("size"));
}

TEST(ValidateLivenessVideoTest, Table) {
  const std::size_t kCap = kDefaultMaxLivenessVideoBytes;
  RunStatusCases(
      {
          {"absent", "", "", ""},
          {"small", "video", "", ""},
          {"at the cap", std::string(kCap, 'v'), "", ""},
          {"over the cap", std::string(kCap + 1, 'v'), "size", ""},
      },
      [](const std::string& in) { return ValidateLivenessVideo(in); });
  EXPECT_EQ(ValidateLivenessVideo("12345", 4),
            absl::InvalidArgumentError("size"));
}

// ---- Identifiers ----------------------------------------------------------

TEST(ValidateRequestIdTest, Table) {
  RunStatusCases(
      {
          {"simple", "req-1", "", ""},
          {"one character", "a", "", ""},
          {"every allowed class", "A.b_c:d-9", "", ""},
          {"64 characters", std::string(64, 'r'), "", ""},
          {"UUID", "3f1c2a7e-9b4d-4e0a-8c57-1d2e3f4a5b6c", "", ""},
          {"empty", "", "empty", ""},
          {"65 characters", std::string(65, 'r'), "length", ""},
          {"space", "req 1", "characters", ""},
          {"slash", "req/1", "characters", ""},
          {"newline", "req\n", "characters", ""},
          {"non-ASCII", "请求", "characters", ""},
      },
      [](const std::string& in) { return ValidateRequestId(in); });
}

TEST(ValidatePurposeFormatTest, Table) {
  RunStatusCases(
      {
          {"example", "esign.signer_identity", "", ""},
          {"one segment", "ca", "", ""},
          {"three segments with digits", "a1_x.b2.c", "", ""},
          {"64 characters", std::string(64, 'p'), "", ""},
          {"empty", "", "empty", ""},
          {"65 characters", std::string(65, 'p'), "length", ""},
          {"uppercase", "Esign.signer", "format", ""},
          {"trailing dot", "esign.", "format", ""},
          {"leading dot", ".esign", "format", ""},
          {"empty segment", "esign..x", "format", ""},
          {"hyphen", "esign-x", "format", ""},
          {"leading digit", "1esign", "format", ""},
          {"segment with leading digit", "esign.1x", "format", ""},
          {"segment with leading underscore", "esign._x", "format", ""},
          {"space", "esign signer", "format", ""},
      },
      [](const std::string& in) { return ValidatePurposeFormat(in); });
}

TEST(ValidateOpaqueIdTest, Table) {
  RunStatusCases(
      {
          {"simple", "consent-123", "", ""},
          {"punctuation", "c/1?x=y#z", "", ""},
          {"at max", std::string(12, 'c'), "", ""},
          {"empty", "", "empty", ""},
          {"over max", std::string(13, 'c'), "length", ""},
          {"space", "consent 1", "characters", ""},
          {"DEL", "consent\x7F", "characters", ""},
          {"non-ASCII", "同意", "characters", ""},
      },
      [](const std::string& in) { return ValidateOpaqueId(in, 12); });
}

TEST(IsRuleNameTest, KnowsEveryRuleAndNothingElse) {
  for (const char* r :
       {rule::kEmpty, rule::kMissing, rule::kLength, rule::kCharacters,
        rule::kEncoding, rule::kFormat, rule::kCheckDigit, rule::kBirthDate,
        rule::kProvince, rule::kLuhn, rule::kAllZeros, rule::kSize,
        rule::kMagicBytes, rule::kFuture, rule::kUnknownValue}) {
    EXPECT_TRUE(IsRuleName(r)) << r;
  }
  EXPECT_FALSE(IsRuleName(""));
  EXPECT_FALSE(IsRuleName("length "));
  EXPECT_FALSE(IsRuleName("11010519491231002X"));
}

}  // namespace
}  // namespace idgate::identity
