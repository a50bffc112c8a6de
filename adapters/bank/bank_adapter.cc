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

}  // namespace

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
