// A small Prometheus registry: counters, gauges and histograms keyed by name + labels, rendered
// in the text exposition format (version 0.0.4). Thread-safe.
//
// Label values must come from fixed sets (a route pattern, never a raw path or method). As a
// backstop against a caller that gets this wrong, each metric holds at most
// `max_series_per_metric` series: samples for further label sets are folded into one series
// whose every label value is "other", and counted in jitbroker_metrics_series_overflow_total.
#pragma once

#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace jitb::metrics {

using Labels = std::vector<std::pair<std::string, std::string>>;

class Registry {
 public:
  static constexpr size_t kDefaultMaxSeries = 2000;
  explicit Registry(size_t max_series_per_metric = kDefaultMaxSeries);

  // Families must be declared before use so that every series has HELP and TYPE lines.
  void declareCounter(std::string name, std::string help);
  void declareGauge(std::string name, std::string help);
  void declareHistogram(std::string name, std::string help, std::vector<double> bounds);

  void add(std::string_view name, const Labels& labels, double v = 1);
  void set(std::string_view name, const Labels& labels, double v);
  void observe(std::string_view name, const Labels& labels, double v);

  // Runs at every scrape before rendering: for gauges read from elsewhere (e.g. active leases).
  void addCollector(std::function<void(Registry&)> fn);

  std::string render();

 private:
  enum class Type { kCounter, kGauge, kHistogram };
  struct Hist {
    std::vector<unsigned long long> buckets;  // cumulative counts are computed when rendered
    unsigned long long count = 0;
    double sum = 0;
  };
  struct Family {
    Type type;
    std::string help;
    std::vector<double> bounds;
    std::map<std::string, double> values;  // key: rendered label set "{a=\"b\"}"
    std::map<std::string, Hist> hists;
  };
  Family* find(std::string_view name, Type type);
  // Under mu_: the series a sample for a new label set goes to (see the class comment).
  std::string admit(std::string_view name, size_t series, const Labels& labels, std::string key);
  // Under mu_: the series of `labels` (rendered as `key`) in `all`, a family's values or
  // histograms, made on first use where admit() says.
  template <class Series>
  typename Series::mapped_type& series(std::string_view name, Series& all, const Labels& labels,
                                       std::string key);

  const size_t max_series_;
  std::mutex mu_;
  std::map<std::string, Family, std::less<>> families_;
  std::vector<std::function<void(Registry&)>> collectors_;
};

// Rendered label set, with values escaped per the exposition format.
std::string renderLabels(const Labels& labels);

}  // namespace jitb::metrics
