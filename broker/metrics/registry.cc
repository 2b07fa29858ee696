#include "broker/metrics/registry.h"

#include <cmath>
#include <cstdio>

namespace jitb::metrics {

std::string renderLabels(const Labels& labels) {
  if (labels.empty()) return {};
  std::string out = "{";
  for (size_t i = 0; i < labels.size(); ++i) {
    if (i) out += ',';
    out += labels[i].first;
    out += "=\"";
    for (char c : labels[i].second) {
      if (c == '\\') out += "\\\\";
      else if (c == '"') out += "\\\"";
      else if (c == '\n') out += "\\n";
      else out += c;
    }
    out += '"';
  }
  out += '}';
  return out;
}

namespace {
std::string num(double v) {
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[64];
  if (v == std::floor(v) && std::fabs(v) < 1e15) {
    std::snprintf(buf, sizeof buf, "%.0f", v);
  } else {
    std::snprintf(buf, sizeof buf, "%.9g", v);
  }
  return buf;
}

// Inserts `le` into a rendered label set: {a="b"} -> {a="b",le="0.5"}.
std::string withLe(const std::string& key, const std::string& le) {
  if (key.empty()) return "{le=\"" + le + "\"}";
  return key.substr(0, key.size() - 1) + ",le=\"" + le + "\"}";
}
}  // namespace

namespace {
constexpr const char* kOverflow = "jitbroker_metrics_series_overflow_total";
}  // namespace

Registry::Registry(size_t max_series_per_metric) : max_series_(max_series_per_metric) {
  declareCounter(kOverflow,
                 "Samples folded into a metric's \"other\" series because it already held the "
                 "maximum number of series, by metric.");
}

void Registry::declareCounter(std::string name, std::string help) {
  std::lock_guard lk(mu_);
  families_.try_emplace(std::move(name), Family{Type::kCounter, std::move(help), {}, {}, {}});
}

void Registry::declareGauge(std::string name, std::string help) {
  std::lock_guard lk(mu_);
  families_.try_emplace(std::move(name), Family{Type::kGauge, std::move(help), {}, {}, {}});
}

void Registry::declareHistogram(std::string name, std::string help, std::vector<double> bounds) {
  std::lock_guard lk(mu_);
  families_.try_emplace(std::move(name),
                        Family{Type::kHistogram, std::move(help), std::move(bounds), {}, {}});
}

Registry::Family* Registry::find(std::string_view name, Type type) {
  auto it = families_.find(name);
  // An undeclared or mistyped family is a programming error; dropping the sample keeps a
  // metrics bug from ever taking a request down.
  if (it == families_.end() || it->second.type != type) return nullptr;
  return &it->second;
}

std::string Registry::admit(std::string_view name, size_t series, const Labels& labels,
                            std::string key) {
  if (series < max_series_) return key;
  Labels other = labels;
  for (auto& [k, v] : other) v = "other";
  families_.find(kOverflow)->second.values[renderLabels({{"metric", std::string(name)}})] += 1;
  return renderLabels(other);
}

template <class Series>
typename Series::mapped_type& Registry::series(std::string_view name, Series& all,
                                               const Labels& labels, std::string key) {
  auto it = all.find(key);
  if (it == all.end()) it = all.try_emplace(admit(name, all.size(), labels, std::move(key))).first;
  return it->second;
}

// Label sets are rendered before the lock is taken: every request records a few samples.
void Registry::add(std::string_view name, const Labels& labels, double v) {
  std::string key = renderLabels(labels);
  std::lock_guard lk(mu_);
  if (Family* f = find(name, Type::kCounter)) series(name, f->values, labels, std::move(key)) += v;
}

void Registry::set(std::string_view name, const Labels& labels, double v) {
  std::string key = renderLabels(labels);
  std::lock_guard lk(mu_);
  if (Family* f = find(name, Type::kGauge)) series(name, f->values, labels, std::move(key)) = v;
}

void Registry::observe(std::string_view name, const Labels& labels, double v) {
  std::string key = renderLabels(labels);
  std::lock_guard lk(mu_);
  Family* f = find(name, Type::kHistogram);
  if (!f) return;
  Hist& h = series(name, f->hists, labels, std::move(key));
  if (h.buckets.empty()) h.buckets.assign(f->bounds.size(), 0);
  for (size_t i = 0; i < f->bounds.size(); ++i) {
    if (v <= f->bounds[i]) {
      ++h.buckets[i];
      break;
    }
  }
  ++h.count;
  h.sum += v;
}

void Registry::addCollector(std::function<void(Registry&)> fn) {
  std::lock_guard lk(mu_);
  collectors_.push_back(std::move(fn));
}

std::string Registry::render() {
  std::vector<std::function<void(Registry&)>> collectors;
  {
    std::lock_guard lk(mu_);
    collectors = collectors_;
  }
  for (auto& c : collectors) c(*this);

  std::lock_guard lk(mu_);
  std::string out;
  for (const auto& [name, f] : families_) {
    static const char* kTypes[] = {"counter", "gauge", "histogram"};
    out += "# HELP " + name + " " + f.help + "\n";
    out += "# TYPE " + name + " " + kTypes[static_cast<int>(f.type)] + "\n";
    if (f.type != Type::kHistogram) {
      for (const auto& [key, v] : f.values) out += name + key + " " + num(v) + "\n";
      continue;
    }
    for (const auto& [key, h] : f.hists) {
      unsigned long long cum = 0;
      for (size_t i = 0; i < f.bounds.size(); ++i) {
        cum += h.buckets[i];
        out += name + "_bucket" + withLe(key, num(f.bounds[i])) + " " + std::to_string(cum) + "\n";
      }
      out += name + "_bucket" + withLe(key, "+Inf") + " " + std::to_string(h.count) + "\n";
      out += name + "_sum" + key + " " + num(h.sum) + "\n";
      out += name + "_count" + key + " " + std::to_string(h.count) + "\n";
    }
  }
  return out;
}

}  // namespace jitb::metrics
