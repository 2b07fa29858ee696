#include "broker/metrics/registry.h"

#include <gtest/gtest.h>

namespace jitb::metrics {
namespace {

TEST(Registry, CountersRenderWithHelpTypeAndLabels) {
  Registry r;
  r.declareCounter("req_total", "Requests.");
  r.add("req_total", {{"route", "/a"}, {"code", "200"}});
  r.add("req_total", {{"route", "/a"}, {"code", "200"}}, 2);
  std::string out = r.render();
  EXPECT_NE(out.find("# HELP req_total Requests.\n"), std::string::npos);
  EXPECT_NE(out.find("# TYPE req_total counter\n"), std::string::npos);
  EXPECT_NE(out.find("req_total{route=\"/a\",code=\"200\"} 3\n"), std::string::npos);
}

TEST(Registry, HistogramBucketsAreCumulative) {
  Registry r;
  r.declareHistogram("lat", "Latency.", {0.1, 1});
  r.observe("lat", {}, 0.05);
  r.observe("lat", {}, 0.5);
  r.observe("lat", {}, 5);
  std::string out = r.render();
  EXPECT_NE(out.find("lat_bucket{le=\"0.1\"} 1\n"), std::string::npos) << out;
  EXPECT_NE(out.find("lat_bucket{le=\"1\"} 2\n"), std::string::npos) << out;
  EXPECT_NE(out.find("lat_bucket{le=\"+Inf\"} 3\n"), std::string::npos) << out;
  EXPECT_NE(out.find("lat_count 3\n"), std::string::npos) << out;
  EXPECT_NE(out.find("lat_sum 5.55\n"), std::string::npos) << out;
}

TEST(Registry, LabelValuesAreEscaped) {
  EXPECT_EQ(renderLabels({{"p", "a\"b\\c\nd"}}), "{p=\"a\\\"b\\\\c\\nd\"}");
}

TEST(Registry, UndeclaredOrMistypedSamplesAreDropped) {
  Registry r;
  r.declareGauge("g", "A gauge.");
  r.add("g", {}, 1);  // counter op on a gauge
  r.add("nope", {}, 1);
  std::string out = r.render();
  EXPECT_NE(out.find("# HELP g A gauge.\n# TYPE g gauge\n"), std::string::npos);
  for (size_t at = 0; at < out.size(); at = out.find('\n', at) + 1)
    EXPECT_EQ(out[at], '#') << out;  // no sample line at all
}

// Whatever label values a caller passes, a metric holds a bounded number of series.
TEST(Registry, SeriesBeyondTheCapFoldIntoOther) {
  Registry r(3);
  r.declareCounter("req_total", "Requests.");
  r.declareHistogram("lat", "Latency.", {0.1});
  r.declareGauge("g", "A gauge.");
  for (int i = 0; i < 1000; ++i) {
    std::string m = "FOO" + std::to_string(i);
    r.add("req_total", {{"method", m}, {"code", "400"}});
    r.observe("lat", {{"method", m}}, 0.05);
    r.set("g", {{"k", m}}, i);
  }
  r.add("req_total", {{"method", "FOO0"}, {"code", "400"}});  // an admitted series keeps counting
  std::string out = r.render();
  EXPECT_NE(out.find("req_total{method=\"FOO0\",code=\"400\"} 2\n"), std::string::npos) << out;
  EXPECT_NE(out.find("req_total{method=\"other\",code=\"other\"} 997\n"), std::string::npos);
  EXPECT_EQ(out.find("FOO3"), std::string::npos) << out;
  EXPECT_NE(out.find("lat_count{method=\"other\"} 997\n"), std::string::npos) << out;
  EXPECT_NE(out.find("g{k=\"other\"} 999\n"), std::string::npos) << out;
  EXPECT_NE(out.find("jitbroker_metrics_series_overflow_total{metric=\"req_total\"} 997\n"),
            std::string::npos)
      << out;
  size_t lines = 0;
  for (char c : out) lines += c == '\n';
  EXPECT_LT(lines, 60u) << out;
}

TEST(Registry, CollectorsRunAtScrape) {
  Registry r;
  r.declareGauge("active", "Active.");
  int calls = 0;
  r.addCollector([&](Registry& reg) { reg.set("active", {}, ++calls * 10); });
  EXPECT_NE(r.render().find("active 10\n"), std::string::npos);
  EXPECT_NE(r.render().find("active 20\n"), std::string::npos);
}

}  // namespace
}  // namespace jitb::metrics
