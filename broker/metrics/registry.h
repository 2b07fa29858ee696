// A small Prometheus registry: counters, gauges and histograms keyed by name + labels, rendered
// in the text exposition format (version 0.0.4). Thread-safe.
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

  std::mutex mu_;
  std::map<std::string, Family, std::less<>> families_;
  std::vector<std::function<void(Registry&)>> collectors_;
};

// Rendered label set, with values escaped per the exposition format.
std::string renderLabels(const Labels& labels);

}  // namespace jitb::metrics
