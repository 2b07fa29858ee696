#include "broker/http/metric_labels.h"

#include <array>

namespace jitb::http {

std::string_view methodLabel(std::string_view method) {
  static constexpr std::array<std::string_view, 7> kKnown = {"GET",    "HEAD",  "POST",   "PUT",
                                                             "DELETE", "PATCH", "OPTIONS"};
  for (std::string_view k : kKnown)
    if (method == k) return k;
  return "other";
}

std::string statusLabel(int status) {
  return status >= 100 && status <= 599 ? std::to_string(status) : "other";
}

}  // namespace jitb::http
