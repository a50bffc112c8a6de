#pragma once

#include <memory>
#include <string>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/pii.h"
#include "idgate/mock/v1/identity_book.pb.h"

namespace idgate {

// The synthetic people every mock provider answers from: the carrier's
// subscriber records, the banks' cards, the authority's ID photos. Immutable
// after loading, so mocks share it across threads without locking.
//
// Lookups take the value in the form the request carries it: plain, or the
// lowercase hex SHA-256 / SM3 of the normalized value (hashed-mode
// requests), the way a provider that offers a hashed API indexes its records.
class IdentityBook {
 public:
  using Person = ::idgate::mock::v1::Person;
  using Mobile = ::idgate::mock::v1::Mobile;
  using BankCard = ::idgate::mock::v1::BankCard;

  struct MobileEntry {
    const Person* person = nullptr;
    const Mobile* mobile = nullptr;
  };
  struct CardEntry {
    const Person* person = nullptr;
    const BankCard* card = nullptr;
  };

  // An empty book: every lookup misses.
  IdentityBook() = default;
  IdentityBook(const IdentityBook&) = delete;
  IdentityBook& operator=(const IdentityBook&) = delete;

  // Checks that labels, ID numbers, mobiles and cards are unique and present.
  static absl::StatusOr<std::unique_ptr<IdentityBook>> FromProto(
      ::idgate::mock::v1::IdentityBook book);
  // proto3 JSON (idgate.mock.v1.IdentityBook), unknown fields rejected.
  static absl::StatusOr<std::unique_ptr<IdentityBook>> FromJson(
      absl::string_view json);
  static absl::StatusOr<std::unique_ptr<IdentityBook>> LoadFile(
      const std::string& path);

  // nullptr / empty entries when there is no such record.
  const Person* FindById(absl::string_view value, PiiForm form) const;
  MobileEntry FindMobile(absl::string_view value, PiiForm form) const;
  CardEntry FindCard(absl::string_view value, PiiForm form) const;
  const Person* FindByLabel(absl::string_view label) const;

  // `plain` in `form` (the value itself, or its hex digest); empty for an
  // unspecified form.
  static std::string InForm(absl::string_view plain, PiiForm form);
  // Whether `value`, given in `form`, is the book value `plain`.
  static bool Matches(absl::string_view plain, absl::string_view value,
                      PiiForm form);

  const ::idgate::mock::v1::IdentityBook& proto() const { return book_; }

 private:
  using Key = std::pair<int, std::string>;  // (PiiForm, value in that form)

  ::idgate::mock::v1::IdentityBook book_;
  absl::flat_hash_map<Key, const Person*> by_id_;
  absl::flat_hash_map<Key, MobileEntry> by_mobile_;
  absl::flat_hash_map<Key, CardEntry> by_card_;
  absl::flat_hash_map<std::string, const Person*> by_label_;
};

}  // namespace idgate
