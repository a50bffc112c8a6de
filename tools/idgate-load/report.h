#pragma once

#include <string>

#include "tools/idgate-load/load_config.h"
#include "tools/idgate-load/runner.h"

namespace idgate::load {

// ghz's text summary, plus the verdict distribution.
std::string SummaryReport(const LoadConfig& config, const RunResult& result);

// ghz's JSON report (durations in nanoseconds, "rps", "latencyDistribution",
// "statusCodeDistribution", "errorDistribution", "histogram"), plus
// "verdictDistribution", "failures", "percentiles", "spectrum" (latency by
// percentile, for plots) and "maxInFlight". `pretty` indents it.
std::string JsonReport(const LoadConfig& config, const RunResult& result,
                       bool pretty);

// ghz's status code names (Go's codes.Code.String()).
const char* GhzCodeName(int code);

}  // namespace idgate::load
