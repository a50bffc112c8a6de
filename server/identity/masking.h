#pragma once

// Display masks for personal values: the one definition used by logs,
// disclosure receipts and the audit tool, so a value is never shown two ways.
//
// Inputs are meant to be normalized values (see validators.h), but any input
// is safe: a value no longer than the parts a mask keeps is masked entirely
// (a mask never shows the whole value), and a value with characters outside
// the normalized alphabet is masked entirely (no control, bidi or partial
// UTF-8 sequence reaches a log line). Each hidden character becomes one '*':
// one per byte for ASCII values, one per code point (or invalid byte) for
// names and non-ASCII input.

#include <string>

#include "absl/strings/string_view.h"

namespace idgate::identity {

// First 3 and last 4 kept: "11010519491231002X" -> "110***********002X".
// Kept only if all characters are ASCII letters or digits and there are at
// least 8.
std::string MaskIdNumber(absl::string_view id_number);

// First 3 and last 4 kept: "13812345678" -> "138****5678". Kept only if all
// characters are ASCII digits and there are at least 8.
std::string MaskMobile(absl::string_view mobile);

// Last 4 kept: "6222021234567890123" -> "***************0123". Kept only if all
// characters are ASCII digits and there are at least 5.
std::string MaskBankCard(absl::string_view card_number);

// First code point kept, one '*' per other code point: "张三" -> "张*",
// "欧阳娜娜" -> "欧***". A single code point is fully masked; so is a name
// whose first code point is not a letter (Han or Latin).
std::string MaskName(absl::string_view name);

}  // namespace idgate::identity
