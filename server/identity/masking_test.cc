#include "server/identity/masking.h"

#include <functional>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace idgate::identity {
namespace {

struct MaskCase {
  std::string label;
  std::string input;
  std::string masked;
};

void RunMaskCases(const std::vector<MaskCase>& cases,
                  const std::function<std::string(absl::string_view)>& mask) {
  for (const MaskCase& c : cases) {
    SCOPED_TRACE(c.label);
    EXPECT_EQ(mask(c.input), c.masked);
  }
}

TEST(MaskIdNumberTest, EdgeLengths) {
  RunMaskCases(
      {
          {"18 characters", "11010519491231002X", "110***********002X"},
          {"design example shape", "110105199001011230", "110***********1230"},
          {"lowercase x", "11010519491231002x", "110***********002x"},
          {"17 characters", "11010519491231002", "110**********1002"},
          {"19 characters", "11010519491231002X0", "110************02X0"},
          {"8: one hidden", "11010519", "110*0519"},
          {"7: as long as the kept parts", "1101051", "*******"},
          {"3", "110", "***"},
          {"1", "1", "*"},
          {"empty", "", ""},
          {"space inside", "110105 19491231002X", "*******************"},
          {"full-width digits, one per code point",
           "\xEF\xBC\x91\xEF\xBC\x91\xEF\xBC\x90\xEF\xBC\x91\xEF\xBC\x90\xEF"
           "\xBC\x95\xEF\xBC\x91\xEF\xBC\x99",
           "********"},
          {"bidi override",
           "110\xE2\x80\xAE"
           "19491231002X",
           "****************"},
      },
      MaskIdNumber);
}

TEST(MaskMobileTest, EdgeLengths) {
  RunMaskCases(
      {
          {"11 digits", "13812345678", "138****5678"},
          {"12 digits", "138123456789", "138*****6789"},
          {"10 digits", "1381234567", "138***4567"},
          {"8: one hidden", "13812345", "138*2345"},
          {"7: as long as the kept parts", "1381234", "*******"},
          {"1", "1", "*"},
          {"empty", "", ""},
          {"not normalized: +86", "+8613812345678", "**************"},
          {"separators", "138-1234-5678", "*************"},
      },
      MaskMobile);
}

TEST(MaskBankCardTest, EdgeLengths) {
  RunMaskCases(
      {
          {"16 digits", "6222021234561234", "************1234"},
          {"19 digits", "6222021234567890123", "***************0123"},
          {"15 digits", "378282246310005", "***********0005"},
          {"5: one hidden", "12345", "*2345"},
          {"4: as long as the kept part", "1234", "****"},
          {"1", "7", "*"},
          {"empty", "", ""},
          {"spaces", "6222 0212 3456 1234", "*******************"},
          {"newline", "6222021234561234\n", "*****************"},
      },
      MaskBankCard);
}

TEST(MaskNameTest, EdgeLengths) {
  RunMaskCases(
      {
          {"two Han", "张三", "张*"},
          {"three Han", "欧阳娜", "欧**"},
          {"four Han", "欧阳娜娜", "欧***"},
          {"one Han: fully masked", "张", "*"},
          {"empty", "", ""},
          {"middle dot counts as a character", "阿沛·阿旺晋美", "阿******"},
          {"Latin", "John", "J***"},
          {"Latin-1 first letter", "Émile", "É****"},
          {"extension B first, 4 bytes", "\xF0\xA0\x80\x80三",
           "\xF0\xA0\x80\x80*"},
          {"long tail", std::string("张") + std::string(189, 'x'),
           "张" + std::string(189, '*')},
          {"bidi override first: not shown", "\xE2\x80\xAE张三", "***"},
          {"control first: not shown", "\n张三", "***"},
          {"digit first: not shown", "1张", "**"},
          {"invalid byte first", "\xFF张", "**"},
          {"invalid byte later", "张\xFF\xFE", "张**"},
          {"truncated sequence", "张\xE4\xB8", "张**"},
      },
      MaskName);
}

TEST(MaskingTest, NeverRevealsAWholeValue) {
  // For every length up to 24, at least one character is hidden.
  for (int n = 1; n <= 24; ++n) {
    const std::string digits(n, '7');
    for (const auto& mask : {MaskIdNumber, MaskMobile, MaskBankCard}) {
      const std::string masked = mask(digits);
      EXPECT_EQ(masked.size(), digits.size());
      EXPECT_NE(masked.find('*'), std::string::npos) << n;
    }
    const std::string name(n, 'a');
    EXPECT_NE(MaskName(name).find('*'), std::string::npos) << n;
  }
}

}  // namespace
}  // namespace idgate::identity
