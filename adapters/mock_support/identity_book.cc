#include "adapters/mock_support/identity_book.h"

#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "core/digest.h"
#include "core/status.h"
#include "google/protobuf/util/json_util.h"

namespace idgate {
namespace {

constexpr PiiForm kForms[] = {::idgate::v1::PII_FORM_PLAIN,
                              ::idgate::v1::PII_FORM_SHA256,
                              ::idgate::v1::PII_FORM_SM3};

// Inserts `value` under every form; false when it is already there.
template <typename Map, typename Entry>
bool IndexAllForms(Map& map, absl::string_view plain, const Entry& entry) {
  for (PiiForm form : kForms) {
    if (!map.emplace(std::make_pair(static_cast<int>(form),
                                    IdentityBook::InForm(plain, form)),
                     entry)
             .second) {
      return false;
    }
  }
  return true;
}

}  // namespace

std::string IdentityBook::InForm(absl::string_view plain, PiiForm form) {
  switch (form) {
    case ::idgate::v1::PII_FORM_PLAIN:
      return std::string(plain);
    case ::idgate::v1::PII_FORM_SHA256:
      return Sha256Hex(plain);
    case ::idgate::v1::PII_FORM_SM3:
      return Sm3Hex(plain);
    default:
      return "";
  }
}

bool IdentityBook::Matches(absl::string_view plain, absl::string_view value,
                           PiiForm form) {
  if (value.empty()) return false;
  return InForm(plain, form) == value;
}

absl::StatusOr<std::unique_ptr<IdentityBook>> IdentityBook::FromProto(
    ::idgate::mock::v1::IdentityBook book) {
  auto out = std::make_unique<IdentityBook>();
  out->book_ = std::move(book);
  // Errors name the entry by position and label only: the book is synthetic,
  // but the habit of never quoting identity values is kept.
  for (int i = 0; i < out->book_.people_size(); ++i) {
    const Person& person = out->book_.people(i);
    const std::string where = absl::StrCat("people[", i, "]");
    if (person.label().empty()) {
      return absl::InvalidArgumentError(absl::StrCat(where, ".label: empty"));
    }
    if (!out->by_label_.emplace(person.label(), &person).second) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ".label: duplicate"));
    }
    if (person.id_number().empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ".id_number: empty"));
    }
    if (!IndexAllForms(out->by_id_, person.id_number(), &person)) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ".id_number: duplicate"));
    }
    for (int m = 0; m < person.mobiles_size(); ++m) {
      const Mobile& mobile = person.mobiles(m);
      if (mobile.number().empty() ||
          !IndexAllForms(out->by_mobile_, mobile.number(),
                         MobileEntry{&person, &mobile})) {
        return absl::InvalidArgumentError(
            absl::StrCat(where, ".mobiles[", m, "]: empty or duplicate"));
      }
    }
    for (int c = 0; c < person.cards_size(); ++c) {
      const BankCard& card = person.cards(c);
      if (card.number().empty() || !IndexAllForms(out->by_card_, card.number(),
                                                  CardEntry{&person, &card})) {
        return absl::InvalidArgumentError(
            absl::StrCat(where, ".cards[", c, "]: empty or duplicate"));
      }
    }
  }
  return out;
}

absl::StatusOr<std::unique_ptr<IdentityBook>> IdentityBook::FromJson(
    absl::string_view json) {
  ::idgate::mock::v1::IdentityBook book;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  const auto status = google::protobuf::util::JsonStringToMessage(
      google::protobuf::StringPiece(json.data(), json.size()), &book, options);
  if (!status.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("identity book: ", std::string(status.message())));
  }
  return FromProto(std::move(book));
}

absl::StatusOr<std::unique_ptr<IdentityBook>> IdentityBook::LoadFile(
    const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::NotFoundError(
        absl::StrCat("identity book: cannot read ", path));
  }
  std::stringstream content;
  content << in.rdbuf();
  auto book = FromJson(content.str());
  if (!book.ok()) {
    return Prefixed(path, book.status());
  }
  return book;
}

const IdentityBook::Person* IdentityBook::FindById(absl::string_view value,
                                                   PiiForm form) const {
  auto it = by_id_.find(Key(form, std::string(value)));
  return it == by_id_.end() ? nullptr : it->second;
}

IdentityBook::MobileEntry IdentityBook::FindMobile(absl::string_view value,
                                                   PiiForm form) const {
  auto it = by_mobile_.find(Key(form, std::string(value)));
  return it == by_mobile_.end() ? MobileEntry{} : it->second;
}

IdentityBook::CardEntry IdentityBook::FindCard(absl::string_view value,
                                               PiiForm form) const {
  auto it = by_card_.find(Key(form, std::string(value)));
  return it == by_card_.end() ? CardEntry{} : it->second;
}

const IdentityBook::Person* IdentityBook::FindByLabel(
    absl::string_view label) const {
  auto it = by_label_.find(label);
  return it == by_label_.end() ? nullptr : it->second;
}

}  // namespace idgate
