#pragma once

#include <array>
#include <cstddef>
#include <initializer_list>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "adapters/adapter.h"

namespace idgate {

// Every provider's result codes are declared as a CodeTable, one row per
// documented result, and normalized by the same lookup: what is billed and
// what may be retried reads off the table, and an unknown code falls back
// the same way for every provider.

// In a row's key, matches any value.
inline constexpr absl::string_view kAnyCode = "*";

// Code characters: letters, digits and ".-_".
inline constexpr absl::string_view kWordCodeChars =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-";

// One part of a row's key. Built from a constant's array with its length
// known at compile time: absl::string_view's const char* constructor checks
// for null, which GCC does not accept in a constant expression under UBSan
// for a named array (the sanitizer builds of scripts/test.sh).
struct CodePart {
  constexpr CodePart() = default;
  template <size_t N>
  constexpr CodePart(const char (&code)[N]) : value(code, N - 1) {}
  constexpr CodePart(absl::string_view code) : value(code) {}
  absl::string_view value;
};
using CodeKey = std::array<CodePart, 3>;

// One documented result of a provider protocol.
struct CodeRow {
  // The result as the protocol gives it: the code, then the further parts
  // some protocols add (Alipay: "passed" and the sub-code). kAnyCode
  // matches any value; a part left out matches only an empty one.
  CodeKey key;
  // kOk: the provider answered and `verdict` is its answer. Otherwise the
  // call failed with this status code, and `what` says why in our words.
  absl::StatusCode status;
  Verdict verdict;
  bool billed;
  bool retryable;
  absl::string_view what;
};

enum class Billing { kNotBilled, kBilled };
enum class Retry { kFinal, kRetryable };

// A definitive answer.
constexpr CodeRow AnswerRow(CodeKey key, Verdict verdict, Billing billing) {
  return {key,     absl::StatusCode::kOk,
          verdict, billing == Billing::kBilled,
          false,   ""};
}

// A failure: never billed, since providers bill only the answers they give.
// `what` is our wording: a provider's own message is never copied, as it
// may echo the request.
constexpr CodeRow FailureRow(CodeKey key, absl::StatusCode status, Retry retry,
                             absl::string_view what) {
  return {key,
          status,
          ::idgate::v1::VERDICT_UNSPECIFIED,
          false,
          retry == Retry::kRetryable,
          what};
}

// A provider's result codes.
struct CodeTable {
  // Names the provider in status messages.
  absl::string_view provider;
  // Whether failure messages cite the code ("carrier code -6: provider
  // rejected the mobile number format") or not ("cfca: busy").
  bool cite_code;
  // What the protocol's codes look like. A value that does not is recorded
  // as `not_code_like`: a misbehaving provider could put anything in a
  // code, personal values included, and provider_code goes to the ledger.
  absl::string_view code_chars;
  size_t max_code_length;
  absl::string_view not_code_like;
  // First match wins: specific rows go before wildcard ones.
  absl::Span<const CodeRow> rows;
};

// `value` when it looks like one of `table`'s codes, else
// `table.not_code_like`.
std::string RecordableCode(const CodeTable& table, absl::string_view value);

// Whether the provider bills a result of `key` (at most three parts, as
// every key below).
bool IsBilledCode(const CodeTable& table,
                  std::initializer_list<absl::string_view> key);

// The outcome for a result of `key`, with `recorded` as its provider_code.
// A result no row matches is INTERNAL: never a match, never billed, never
// retried.
ProviderOutcome MapCode(const CodeTable& table,
                        std::initializer_list<absl::string_view> key,
                        std::string recorded);

// The same for a protocol of one-part codes, recorded as RecordableCode.
ProviderOutcome MapCode(const CodeTable& table, absl::string_view code);

// A face similarity score as the gateway reports it: within [0, 100], and 0
// for NaN.
float FaceSimilarity(double score);

}  // namespace idgate
