#include "adapters/code_table.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"

namespace idgate {
namespace {

// The first row of `table` matching `key`, or null.
const CodeRow* FindCode(const CodeTable& table,
                        std::initializer_list<absl::string_view> key) {
  std::array<absl::string_view, 3> parts;
  if (key.size() > parts.size()) return nullptr;
  std::copy(key.begin(), key.end(), parts.begin());
  for (const CodeRow& row : table.rows) {
    bool match = true;
    for (size_t i = 0; i < parts.size() && match; ++i) {
      match = row.key[i].value == kAnyCode || row.key[i].value == parts[i];
    }
    if (match) return &row;
  }
  return nullptr;
}

}  // namespace

std::string RecordableCode(const CodeTable& table, absl::string_view value) {
  const bool code_like =
      value.size() <= table.max_code_length &&
      value.find_first_not_of(table.code_chars) == absl::string_view::npos;
  return std::string(code_like ? value : table.not_code_like);
}

bool IsBilledCode(const CodeTable& table,
                  std::initializer_list<absl::string_view> key) {
  const CodeRow* row = FindCode(table, key);
  return row != nullptr && row->billed;
}

ProviderOutcome MapCode(const CodeTable& table,
                        std::initializer_list<absl::string_view> key,
                        std::string recorded) {
  ProviderOutcome outcome;
  outcome.provider_code = std::move(recorded);
  const CodeRow* row = FindCode(table, key);
  if (row == nullptr) {
    outcome.status = absl::InternalError(absl::StrCat(
        table.provider, ": unknown result code",
        outcome.provider_code.empty() ? "" : " ", outcome.provider_code));
    return outcome;
  }
  if (row->status == absl::StatusCode::kOk) {
    outcome.verdict = row->verdict;
    outcome.billed = row->billed;
    return outcome;
  }
  outcome.status = absl::Status(
      row->status, table.cite_code
                       ? absl::StrCat(table.provider, " code ",
                                      outcome.provider_code, ": ", row->what)
                       : absl::StrCat(table.provider, ": ", row->what));
  outcome.retryable = row->retryable;
  return outcome;
}

ProviderOutcome MapCode(const CodeTable& table, absl::string_view code) {
  return MapCode(table, {code}, RecordableCode(table, code));
}

float FaceSimilarity(double score) {
  // NaN compares false both ways and ends up 0.
  return score > 0 ? static_cast<float>(std::min(score, 100.0)) : 0.0f;
}

}  // namespace idgate
