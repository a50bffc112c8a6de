#include "adapters/carrier/carrier_adapter.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "adapters/carrier/carrier_codes.h"
#include "adapters/provider_call.h"

namespace idgate {
namespace {

using ::idgate::config::v1::CarrierAdapterConfig;
using ::idgate::provider::v1::CheckThreeFactorRequest;
using ::idgate::provider::v1::CheckThreeFactorResponse;

PiiForm FormOf(::idgate::config::v1::CarrierMode mode) {
  switch (mode) {
    case ::idgate::config::v1::CARRIER_MODE_PLAIN:
      return ::idgate::v1::PII_FORM_PLAIN;
    case ::idgate::config::v1::CARRIER_MODE_SHA256:
      return ::idgate::v1::PII_FORM_SHA256;
    case ::idgate::config::v1::CARRIER_MODE_SM3:
      return ::idgate::v1::PII_FORM_SM3;
    default:
      return ::idgate::v1::PII_FORM_UNSPECIFIED;
  }
}

::idgate::provider::v1::CarrierHashMode HashModeOf(PiiForm form) {
  switch (form) {
    case ::idgate::v1::PII_FORM_SHA256:
      return ::idgate::provider::v1::CARRIER_HASH_MODE_SHA256;
    case ::idgate::v1::PII_FORM_SM3:
      return ::idgate::provider::v1::CARRIER_HASH_MODE_SM3;
    default:
      return ::idgate::provider::v1::CARRIER_HASH_MODE_PLAIN;
  }
}

}  // namespace

absl::StatusOr<std::unique_ptr<CarrierAdapter>> CarrierAdapter::Create(
    const CarrierAdapterConfig& config, std::shared_ptr<grpc::Channel> channel,
    ProviderCallQueue* call_queue) {
  if (FormOf(config.mode()) == ::idgate::v1::PII_FORM_UNSPECIFIED) {
    return absl::InvalidArgumentError(
        "CarrierAdapterConfig.mode: must be PLAIN, SHA256 or SM3");
  }
  if (config.app_id().empty()) {
    return absl::InvalidArgumentError(
        "CarrierAdapterConfig.app_id: must be set");
  }
  if (channel == nullptr || call_queue == nullptr) {
    return absl::InvalidArgumentError(
        "carrier adapter: no channel or call queue");
  }
  return std::unique_ptr<CarrierAdapter>(new CarrierAdapter(
      config, std::make_shared<Stub>(std::move(channel)), call_queue));
}

CarrierAdapter::CarrierAdapter(CarrierAdapterConfig config,
                               std::shared_ptr<Stub> stub,
                               ProviderCallQueue* call_queue)
    : config_(std::move(config)),
      form_(FormOf(config_.mode())),
      stub_(std::move(stub)),
      call_queue_(call_queue) {}

std::vector<Check> CarrierAdapter::checks() const {
  return {::idgate::config::v1::CHECK_CARRIER_THREE_FACTOR};
}

std::vector<FieldForm> CarrierAdapter::RequiredFields(Check check) const {
  if (check != ::idgate::config::v1::CHECK_CARRIER_THREE_FACTOR) return {};
  return {{::idgate::v1::PII_FIELD_NAME, form_},
          {::idgate::v1::PII_FIELD_ID_NUMBER, form_},
          {::idgate::v1::PII_FIELD_MOBILE, form_}};
}

absl::StatusOr<std::unique_ptr<PreparedCall>> CarrierAdapter::Prepare(
    const MinimizedSubject& subject, const CallContext& context) const {
  if (context.check != ::idgate::config::v1::CHECK_CARRIER_THREE_FACTOR) {
    return absl::InternalError("carrier adapter: unsupported check");
  }
  if (context.disclosure_id.empty()) {
    return absl::InternalError("carrier adapter: no disclosure id");
  }
  auto found =
      RequiredValues(subject, RequiredFields(context.check), "carrier adapter");
  if (!found.ok()) return found.status();
  const std::vector<absl::string_view>& values = *found;

  CheckThreeFactorRequest request;
  request.set_app_id(config_.app_id());
  request.set_order_no(context.disclosure_id);
  request.set_hash_mode(HashModeOf(form_));
  // Only the fields of the configured form are set: the egress guard sees
  // exactly what the policy granted.
  switch (form_) {
    case ::idgate::v1::PII_FORM_SHA256:
      request.set_name_sha256(std::string(values[0]));
      request.set_id_number_sha256(std::string(values[1]));
      request.set_mobile_sha256(std::string(values[2]));
      break;
    case ::idgate::v1::PII_FORM_SM3:
      request.set_name_sm3(std::string(values[0]));
      request.set_id_number_sm3(std::string(values[1]));
      request.set_mobile_sm3(std::string(values[2]));
      break;
    default:
      request.set_name(std::string(values[0]));
      request.set_id_number(std::string(values[1]));
      request.set_mobile(std::string(values[2]));
      break;
  }
  auto stub = stub_;
  return std::unique_ptr<PreparedCall>(
      new UnaryProviderCall<CheckThreeFactorRequest, CheckThreeFactorResponse>(
          std::move(request),
          [stub](grpc::ClientContext* context,
                 const CheckThreeFactorRequest& req,
                 grpc::CompletionQueue* cq) {
            return stub->PrepareAsyncCheckThreeFactor(context, req, cq);
          },
          &MapCarrierResult, call_queue_));
}

std::string CarrierAdapterFactory::config_type() const {
  return CarrierAdapterConfig::descriptor()->full_name();
}

absl::StatusOr<std::unique_ptr<Adapter>> CarrierAdapterFactory::Create(
    const AdapterEnv& env) const {
  CarrierAdapterConfig config;
  if (env.provider == nullptr || !env.provider->adapter().UnpackTo(&config)) {
    return absl::InvalidArgumentError(
        "carrier adapter: adapter is not a CarrierAdapterConfig");
  }
  auto adapter = CarrierAdapter::Create(config, env.channel, env.call_queue);
  if (!adapter.ok()) {
    return absl::Status(
        adapter.status().code(),
        absl::StrCat("providers[", env.provider->id(),
                     "].adapter: ", adapter.status().message()));
  }
  return std::unique_ptr<Adapter>(std::move(*adapter));
}

}  // namespace idgate
