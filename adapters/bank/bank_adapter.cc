#include "adapters/bank/bank_adapter.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "adapters/bank/bank_codes.h"
#include "adapters/provider_call.h"

namespace idgate {
namespace {

using ::idgate::config::v1::BankAdapterConfig;
using ::idgate::provider::v1::CheckFourFactorRequest;
using ::idgate::provider::v1::CheckFourFactorResponse;

ProviderOutcome Failure(absl::StatusCode code, absl::string_view message,
                        bool retryable) {
  ProviderOutcome outcome;
  outcome.status = absl::Status(code, message);
  outcome.retryable = retryable;
  return outcome;
}

// One row of the table in bank.proto. An OK status means `verdict` is the
// answer; billing comes from bank::IsBilled, the one place it is decided.
struct CodeRule {
  absl::string_view code;
  Verdict verdict;
  absl::StatusCode status;
  bool retryable;
  absl::string_view what;
};

constexpr CodeRule kRules[] = {
    {bank::kPassed, ::idgate::v1::VERDICT_MATCH, absl::StatusCode::kOk, false,
     ""},
    {bank::kMismatch, ::idgate::v1::VERDICT_MISMATCH, absl::StatusCode::kOk,
     false, ""},
    {bank::kCardLost, ::idgate::v1::VERDICT_CARD_UNUSABLE,
     absl::StatusCode::kOk, false, ""},
    {bank::kCardExpired, ::idgate::v1::VERDICT_CARD_UNUSABLE,
     absl::StatusCode::kOk, false, ""},
    {bank::kCardRestricted, ::idgate::v1::VERDICT_CARD_UNUSABLE,
     absl::StatusCode::kOk, false, ""},
    {bank::kNoSuchCard, ::idgate::v1::VERDICT_NO_RECORD, absl::StatusCode::kOk,
     false, ""},
    {bank::kBadRequest, ::idgate::v1::VERDICT_UNSPECIFIED,
     absl::StatusCode::kInternal, false, "request refused as malformed"},
    // The gateway validated these formats already: the issuer disagrees,
    // and another provider would most likely refuse them too.
    {bank::kBadCardNumber, ::idgate::v1::VERDICT_UNSPECIFIED,
     absl::StatusCode::kFailedPrecondition, false,
     "provider rejected the card number format"},
    {bank::kBadIdNumber, ::idgate::v1::VERDICT_UNSPECIFIED,
     absl::StatusCode::kFailedPrecondition, false,
     "provider rejected the ID number format"},
    {bank::kBadName, ::idgate::v1::VERDICT_UNSPECIFIED,
     absl::StatusCode::kFailedPrecondition, false,
     "provider rejected the name format"},
    {bank::kBadMobile, ::idgate::v1::VERDICT_UNSPECIFIED,
     absl::StatusCode::kFailedPrecondition, false,
     "provider rejected the mobile number format"},
    {bank::kBusy, ::idgate::v1::VERDICT_UNSPECIFIED,
     absl::StatusCode::kUnavailable, true, "provider busy"},
    // The limit protects the subject; going round it through another
    // provider would defeat it.
    {bank::kDailyLimit, ::idgate::v1::VERDICT_UNSPECIFIED,
     absl::StatusCode::kResourceExhausted, false,
     "provider's daily limit for this subject reached"},
};

}  // namespace

ProviderOutcome MapBankResult(const grpc::Status& status,
                              const CheckFourFactorResponse& response) {
  if (!status.ok()) return TransportFailure("bank", status);
  const std::string& code = response.resp_code();
  for (const CodeRule& rule : kRules) {
    if (code != rule.code) continue;
    ProviderOutcome outcome;
    outcome.provider_code = code;
    if (rule.status == absl::StatusCode::kOk) {
      outcome.verdict = rule.verdict;
      outcome.billed = bank::IsBilled(code);
    } else {
      outcome.status = absl::Status(
          rule.status, absl::StrCat("bank code ", code, ": ", rule.what));
      outcome.retryable = rule.retryable;
    }
    return outcome;
  }
  // Unknown codes are never a match. The code itself is kept only when it
  // looks like one, since an unexpected field could carry anything.
  const bool printable =
      code.size() <= 8 &&
      code.find_first_not_of("0123456789") == std::string::npos;
  ProviderOutcome outcome =
      Failure(absl::StatusCode::kInternal,
              printable ? absl::StrCat("bank: unknown response code ", code)
                        : "bank: unknown response code",
              false);
  if (printable) outcome.provider_code = code;
  return outcome;
}

absl::StatusOr<std::unique_ptr<BankAdapter>> BankAdapter::Create(
    const BankAdapterConfig& config, std::shared_ptr<grpc::Channel> channel,
    ProviderCallQueue* call_queue) {
  if (config.merchant_id().empty()) {
    return absl::InvalidArgumentError(
        "BankAdapterConfig.merchant_id: must be set");
  }
  if (channel == nullptr || call_queue == nullptr) {
    return absl::InvalidArgumentError("bank adapter: no channel or call queue");
  }
  return std::unique_ptr<BankAdapter>(new BankAdapter(
      config, std::make_shared<Stub>(std::move(channel)), call_queue));
}

BankAdapter::BankAdapter(BankAdapterConfig config, std::shared_ptr<Stub> stub,
                         ProviderCallQueue* call_queue)
    : config_(std::move(config)),
      stub_(std::move(stub)),
      call_queue_(call_queue) {}

std::vector<Check> BankAdapter::checks() const {
  return {::idgate::config::v1::CHECK_BANK_FOUR_FACTOR};
}

std::vector<FieldForm> BankAdapter::RequiredFields(Check check) const {
  if (check != ::idgate::config::v1::CHECK_BANK_FOUR_FACTOR) return {};
  constexpr PiiForm kPlain = ::idgate::v1::PII_FORM_PLAIN;
  return {{::idgate::v1::PII_FIELD_NAME, kPlain},
          {::idgate::v1::PII_FIELD_ID_NUMBER, kPlain},
          {::idgate::v1::PII_FIELD_BANK_CARD_NUMBER, kPlain},
          {::idgate::v1::PII_FIELD_MOBILE, kPlain}};
}

absl::StatusOr<std::unique_ptr<PreparedCall>> BankAdapter::Prepare(
    const MinimizedSubject& subject, const CallContext& context) const {
  if (context.check != ::idgate::config::v1::CHECK_BANK_FOUR_FACTOR) {
    return absl::InternalError("bank adapter: unsupported check");
  }
  if (context.disclosure_id.empty()) {
    return absl::InternalError("bank adapter: no disclosure id");
  }
  auto found =
      RequiredValues(subject, RequiredFields(context.check), "bank adapter");
  if (!found.ok()) return found.status();
  const std::vector<absl::string_view>& values = *found;
  CheckFourFactorRequest request;
  request.set_merchant_id(config_.merchant_id());
  request.set_order_no(context.disclosure_id);
  request.set_cert_type(::idgate::provider::v1::BANK_CERT_TYPE_RESIDENT_ID);
  request.set_name(std::string(values[0]));
  request.set_id_number(std::string(values[1]));
  request.set_card_number(std::string(values[2]));
  request.set_mobile(std::string(values[3]));
  auto stub = stub_;
  return std::unique_ptr<PreparedCall>(
      new UnaryProviderCall<CheckFourFactorRequest, CheckFourFactorResponse>(
          std::move(request),
          [stub](grpc::ClientContext* context,
                 const CheckFourFactorRequest& req, grpc::CompletionQueue* cq) {
            return stub->PrepareAsyncCheckFourFactor(context, req, cq);
          },
          &MapBankResult, call_queue_));
}

std::string BankAdapterFactory::config_type() const {
  return BankAdapterConfig::descriptor()->full_name();
}

absl::StatusOr<std::unique_ptr<Adapter>> BankAdapterFactory::Create(
    const AdapterEnv& env) const {
  BankAdapterConfig config;
  if (env.provider == nullptr || !env.provider->adapter().UnpackTo(&config)) {
    return absl::InvalidArgumentError(
        "bank adapter: adapter is not a BankAdapterConfig");
  }
  auto adapter = BankAdapter::Create(config, env.channel, env.call_queue);
  if (!adapter.ok()) {
    return absl::Status(
        adapter.status().code(),
        absl::StrCat("providers[", env.provider->id(),
                     "].adapter: ", adapter.status().message()));
  }
  return std::unique_ptr<Adapter>(std::move(*adapter));
}

}  // namespace idgate
