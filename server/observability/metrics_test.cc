#include "server/observability/metrics.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "idgate/config/v1/config.pb.h"

namespace idgate {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(MetricsTest, LedgerSizeIsReadAtScrapeTimeOnceWatched) {
  Metrics metrics(::idgate::config::v1::GatewayConfig{}, Metrics::Live{});
  EXPECT_THAT(metrics.Scrape(), Not(HasSubstr("idgate_ledger_bytes")));

  Metrics::LedgerSize size;
  metrics.WatchLedger([&size] { return size; });
  // Empty: no oldest record.
  EXPECT_THAT(metrics.Scrape(),
              HasSubstr("idgate_ledger_oldest_record_age_seconds 0\n"));

  size.bytes = 123456;
  size.segments = 3;
  size.oldest_record_age = absl::Hours(24);
  size.prunes = 2;
  const std::string scrape = metrics.Scrape();
  EXPECT_THAT(scrape, HasSubstr("idgate_ledger_bytes 123456\n"));
  EXPECT_THAT(scrape, HasSubstr("idgate_ledger_segments 3\n"));
  EXPECT_THAT(scrape,
              HasSubstr("idgate_ledger_oldest_record_age_seconds 86400\n"));
  EXPECT_THAT(scrape, HasSubstr("# TYPE idgate_ledger_prunes_total counter\n"
                                "idgate_ledger_prunes_total 2\n"));
}

}  // namespace
}  // namespace idgate
