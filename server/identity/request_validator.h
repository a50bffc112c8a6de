#pragma once

// Validation of a whole VerifyRequest, step 2 of a Verify call: every field
// is checked and normalized before authorization, routing or any provider
// call, and every violation is reported at once.

#include <cstddef>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "core/status.h"
#include "idgate/config/v1/config.pb.h"
#include "idgate/v1/verification.pb.h"
#include "server/identity/validators.h"

namespace idgate::identity {

// ErrorReason.reason when the subject is under kAdultAge.
inline constexpr char kSubjectUnderageReason[] = "SUBJECT_UNDERAGE";

inline constexpr std::size_t kMaxConsentIdLength = 128;
inline constexpr std::size_t kMaxRecipientLength = 64;

struct ValidationLimits {
  std::size_t max_face_image_bytes = kDefaultMaxFaceImageBytes;
  std::size_t max_liveness_video_bytes = kDefaultMaxLivenessVideoBytes;
};

// Limits from the config; an unset (0) field keeps its default.
ValidationLimits ValidationLimitsFromConfig(
    const idgate::config::v1::ValidationSettings& settings);

// A request that passed validation, with normalized values. Fields the check
// does not use are empty.
struct NormalizedRequest {
  idgate::config::v1::Check check = idgate::config::v1::CHECK_UNSPECIFIED;
  std::string request_id;
  std::string purpose;
  idgate::v1::Consent consent;
  std::string name;
  std::string id_number;
  // Carrier three-factor: the subscriber's mobile; bank four-factor: the
  // bank-reserved mobile.
  std::string mobile;
  std::string bank_card_number;
  std::string face_image;
  // Empty when the caller sent none.
  std::string liveness_video;
  // From the ID number.
  absl::CivilDay birth_date;
};

// Validates and normalizes `request` at time `now` (the injected clock).
//
// Any violation: INVALID_ARGUMENT with the message
// "invalid request: <field path>: <rule>; <field path>: <rule>" (one entry per
// violating field, in field order; rules are those of validators.h) and an
// idgate.v1.BadRequest payload under kBadRequestTypeUrl listing the same
// violations. Field paths: "request_id", "purpose", "consent",
// "consent.consent_id", "consent.granted_at", "consent.scopes",
// "consent.recipients", "check" (no check set) and "<check>.<field>", e.g.
// "carrier_three_factor.id_number".
//
// Consent rules: present ("missing"); consent_id 1-kMaxConsentIdLength
// printable ASCII characters without spaces; granted_at present, a valid
// Timestamp ("format") and not after `now` ("future"); every scope a defined,
// non-UNSPECIFIED value ("unknown value"); every recipient 1-
// kMaxRecipientLength printable ASCII characters without spaces.
//
// A valid request whose subject is under kAdultAge in Asia/Shanghai:
// FAILED_PRECONDITION "subject is under 18" with an idgate.v1.ErrorReason
// payload under kErrorReasonTypeUrl, reason kSubjectUnderageReason.
//
// No message or payload ever contains a submitted value.
absl::StatusOr<NormalizedRequest> ValidateVerifyRequest(
    const idgate::v1::VerifyRequest& request, const ValidationLimits& limits,
    absl::Time now);

}  // namespace idgate::identity
