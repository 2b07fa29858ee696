#include <string>

#include "broker/store/store.h"

namespace jitb::store {

core::Status quotaExceeded(std::string_view quota, int64_t limit) {
  return {core::Code::kResourceExhausted,
          "too many active leases for this " + std::string(quota) + " (limit " +
              std::to_string(limit) + ")",
          std::string(quota)};
}

std::string_view quotaRefused(const core::Status& st) {
  if (st.code() != core::Code::kResourceExhausted) return {};
  if (st.detail() == "subject") return "subject";
  if (st.detail() == "ticket") return "ticket";
  return {};
}

}  // namespace jitb::store
