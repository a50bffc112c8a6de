#pragma once

// Builds resident ID numbers with a correct check character for tests, so
// each case states only the part it is about.

#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"
#include "absl/time/civil_time.h"

namespace idgate::identity::testing {

// `first17` must hold 17 ASCII digits. Computed independently of
// validators.cc (the tests also pin numbers from GB 11643 itself).
inline std::string WithCheckCharacter(absl::string_view first17) {
  static constexpr int kWeights[17] = {7, 9, 10, 5,  8, 4, 2, 1, 6,
                                       3, 7, 9,  10, 5, 8, 4, 2};
  int sum = 0;
  for (int i = 0; i < 17; ++i) sum += (first17[i] - '0') * kWeights[i];
  return absl::StrCat(first17, std::string(1, "10X98765432"[sum % 11]));
}

// `region` is 6 digits, `birth` an 8-digit date (it need not exist),
// `sequence` 3 digits whose last is odd for men and even for women.
inline std::string MakeIdNumber(absl::string_view region,
                                absl::string_view birth,
                                absl::string_view sequence) {
  return WithCheckCharacter(absl::StrCat(region, birth, sequence));
}

inline std::string MakeIdNumber(absl::CivilDay birth,
                                absl::string_view region = "110105",
                                absl::string_view sequence = "123") {
  return MakeIdNumber(
      region,
      absl::StrFormat("%04d%02d%02d", birth.year(), birth.month(), birth.day()),
      sequence);
}

// Changes the check character to another valid one ('0'->'1', 'X'->'0').
inline std::string WithWrongCheckCharacter(std::string id_number) {
  char& c = id_number[17];
  c = c == 'X' ? '0' : (c == '9' ? 'X' : static_cast<char>(c + 1));
  return id_number;
}

}  // namespace idgate::identity::testing
