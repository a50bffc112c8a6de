#include "adapters/carrier/carrier_adapter.h"

#include <string>
#include <utility>
#include <vector>

#include "adapters/carrier/carrier_codes.h"
#include "adapters/unary_check_adapter.h"
#include "idgate/provider/v1/carrier.grpc.pb.h"

namespace idgate {
namespace {

using ::idgate::config::v1::CarrierAdapterConfig;
using ::idgate::provider::v1::CarrierService;
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

class CarrierAdapter final
    : public UnaryCheckAdapter<CarrierService, CheckThreeFactorRequest,
                               CheckThreeFactorResponse> {
 public:
  CarrierAdapter(CarrierAdapterConfig config, const AdapterEnv& env, Clock now)
      : UnaryCheckAdapter(
            "carrier adapter", ::idgate::config::v1::CHECK_CARRIER_THREE_FACTOR,
            {{::idgate::v1::PII_FIELD_NAME, FormOf(config.mode())},
             {::idgate::v1::PII_FIELD_ID_NUMBER, FormOf(config.mode())},
             {::idgate::v1::PII_FIELD_MOBILE, FormOf(config.mode())}},
            &CarrierService::Stub::PrepareAsyncCheckThreeFactor,
            &MapCarrierResult, env, std::move(now)),
        config_(std::move(config)),
        form_(FormOf(config_.mode())) {}

 private:
  absl::StatusOr<CheckThreeFactorRequest> BuildRequest(
      const std::vector<absl::string_view>& values,
      const MinimizedSubject& subject,
      const CallContext& context) const override {
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
    return request;
  }

  const CarrierAdapterConfig config_;
  const PiiForm form_;
};

}  // namespace

absl::Status CarrierAdapterFactory::CheckConfig(
    const CarrierAdapterConfig& config) const {
  if (FormOf(config.mode()) == ::idgate::v1::PII_FORM_UNSPECIFIED) {
    return absl::InvalidArgumentError("mode: must be PLAIN, SHA256 or SM3");
  }
  if (config.app_id().empty()) {
    return absl::InvalidArgumentError("app_id: must be set");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<Adapter>> CarrierAdapterFactory::CreateTyped(
    const CarrierAdapterConfig& config, const AdapterEnv& env) const {
  return std::make_unique<CarrierAdapter>(config, env, clock());
}

}  // namespace idgate
