#pragma once

#include <string>

#include "absl/strings/string_view.h"

namespace idgate {

// Lowercase hex digests of normalized values: the SHA256 and SM3 forms of a
// personal field (idgate.v1.PII_FORM_SHA256 / PII_FORM_SM3). Shared by the
// subject minimizer and the mocks so both ends hash identically.
std::string Sha256Hex(absl::string_view data);
// SM3 (GB/T 32905-2016) through OpenSSL 3's EVP "SM3".
std::string Sm3Hex(absl::string_view data);

}  // namespace idgate
