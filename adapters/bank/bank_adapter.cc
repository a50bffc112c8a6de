#include "adapters/bank/bank_adapter.h"

#include <string>
#include <utility>
#include <vector>

#include "adapters/bank/bank_codes.h"
#include "adapters/unary_check_adapter.h"
#include "idgate/provider/v1/bank.grpc.pb.h"

namespace idgate {
namespace {

using ::idgate::config::v1::BankAdapterConfig;
using ::idgate::provider::v1::BankService;
using ::idgate::provider::v1::CheckFourFactorRequest;
using ::idgate::provider::v1::CheckFourFactorResponse;

constexpr PiiForm kPlain = ::idgate::v1::PII_FORM_PLAIN;

class BankAdapter final
    : public UnaryCheckAdapter<BankService, CheckFourFactorRequest,
                               CheckFourFactorResponse> {
 public:
  BankAdapter(BankAdapterConfig config, const AdapterEnv& env, Clock now)
      : UnaryCheckAdapter("bank adapter",
                          ::idgate::config::v1::CHECK_BANK_FOUR_FACTOR,
                          {{::idgate::v1::PII_FIELD_NAME, kPlain},
                           {::idgate::v1::PII_FIELD_ID_NUMBER, kPlain},
                           {::idgate::v1::PII_FIELD_BANK_CARD_NUMBER, kPlain},
                           {::idgate::v1::PII_FIELD_MOBILE, kPlain}},
                          &BankService::Stub::PrepareAsyncCheckFourFactor,
                          &MapBankResult, env, std::move(now)),
        config_(std::move(config)) {}

 private:
  absl::StatusOr<CheckFourFactorRequest> BuildRequest(
      const std::vector<absl::string_view>& values,
      const MinimizedSubject& subject,
      const CallContext& context) const override {
    CheckFourFactorRequest request;
    request.set_merchant_id(config_.merchant_id());
    request.set_order_no(context.disclosure_id);
    request.set_cert_type(::idgate::provider::v1::BANK_CERT_TYPE_RESIDENT_ID);
    request.set_name(std::string(values[0]));
    request.set_id_number(std::string(values[1]));
    request.set_card_number(std::string(values[2]));
    request.set_mobile(std::string(values[3]));
    return request;
  }

  const BankAdapterConfig config_;
};

}  // namespace

absl::Status BankAdapterFactory::CheckConfig(
    const BankAdapterConfig& config) const {
  if (config.merchant_id().empty()) {
    return absl::InvalidArgumentError("merchant_id: must be set");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<Adapter>> BankAdapterFactory::CreateTyped(
    const BankAdapterConfig& config, const AdapterEnv& env) const {
  return std::make_unique<BankAdapter>(config, env, clock());
}

}  // namespace idgate
