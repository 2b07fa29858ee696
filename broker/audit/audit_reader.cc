#include "broker/audit/audit_reader.h"

#include <boost/json.hpp>
#include <deque>
#include <fstream>
#include <sstream>

namespace jitb::audit {

namespace json = boost::json;

core::StatusOr<std::string> readCompleteLines(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return core::Status(core::Code::kUnavailable, "the audit log cannot be read");
  std::ostringstream buf;
  buf << in.rdbuf();
  std::string text = std::move(buf).str();
  text.resize(text.rfind('\n') == std::string::npos ? 0 : text.rfind('\n') + 1);
  return text;
}

core::StatusOr<ChainState> chainState(const std::string& path) {
  auto text = readCompleteLines(path);
  if (!text.ok()) return text.status();
  ChainState out;
  if (!text->empty()) {
    json::error_code ec;
    json::value first = json::parse(std::string_view(*text).substr(0, text->find('\n')), ec);
    if (!ec && first.is_object()) {
      if (auto* p = first.as_object().if_contains("prev"); p && p->is_string())
        out.first_prev = p->as_string();
      if (auto* s = first.as_object().if_contains("seq"); s && s->is_int64())
        out.first_seq = s->as_int64();
    }
  }
  std::istringstream in(*text);
  out.verify = verifyAuditLog(in, out.first_prev);
  if (out.verify.lines > 0) {
    size_t good = out.verify.ok ? out.verify.lines : out.verify.bad_line - 1;
    out.last_seq = good ? out.first_seq + static_cast<int64_t>(good) - 1 : 0;
  }
  return out;
}

namespace {

bool namesLease(const json::object& o, const std::string& lease) {
  if (auto* l = o.if_contains("lease"); l && l->is_string() && l->as_string() == lease)
    return true;
  if (auto* ls = o.if_contains("leases"); ls && ls->is_array())
    for (const auto& v : ls->as_array())
      if (v.is_string() && v.as_string() == lease) return true;
  return false;
}

bool eventMatches(std::string_view event, const std::vector<std::string>& events) {
  if (events.empty()) return true;
  for (const auto& e : events) {
    if (event == e) return true;
    if (!e.empty() && e.back() == '.' && event.substr(0, e.size()) == e) return true;
  }
  return false;
}

}  // namespace

core::StatusOr<std::vector<json::object>> findRecords(const std::string& path,
                                                      const RecordQuery& q) {
  auto text = readCompleteLines(path);
  if (!text.ok()) return text.status();
  std::deque<json::object> kept;
  std::istringstream in(*text);
  std::string line;
  while (std::getline(in, line)) {
    json::error_code ec;
    json::value v = json::parse(line, ec);
    if (ec || !v.is_object()) continue;
    json::object& o = v.as_object();
    auto* ev = o.if_contains("event");
    if (!ev || !ev->is_string() || !eventMatches(ev->as_string(), q.events)) continue;
    if (!q.ticket.empty()) {
      auto* t = o.if_contains("ticket");
      if (!t || !t->is_string() || t->as_string() != q.ticket) continue;
    }
    if (!q.lease.empty() && !namesLease(o, q.lease)) continue;
    kept.push_back(std::move(o));
    if (kept.size() > q.limit) kept.pop_front();
  }
  return std::vector<json::object>(std::make_move_iterator(kept.begin()),
                                   std::make_move_iterator(kept.end()));
}

}  // namespace jitb::audit
