#include "broker/audit/audit_reader.h"

#include <algorithm>
#include <boost/json.hpp>
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
                                                      const RecordQuery& q, size_t chunk_bytes) {
  // Read backwards from the end, a chunk at a time, and stop once `limit` records matched: the
  // console asks for the latest revocations every second, and a full log is 64 MB.
  std::ifstream in(path, std::ios::binary);
  if (!in) return core::Status(core::Code::kUnavailable, "the audit log cannot be read");
  in.seekg(0, std::ios::end);
  int64_t pos = in.tellg();
  std::vector<json::object> newest_first;
  std::string pending;       // the start of a line whose beginning is in an earlier chunk
  bool tail_cut = false;     // the record being written at the end (no newline yet) is dropped
  auto consider = [&](std::string_view line) {
    json::error_code ec;
    json::value v = json::parse(line, ec);
    if (ec || !v.is_object()) return;
    json::object& o = v.as_object();
    auto* ev = o.if_contains("event");
    if (!ev || !ev->is_string() || !eventMatches(ev->as_string(), q.events)) return;
    if (!q.ticket.empty()) {
      auto* t = o.if_contains("ticket");
      if (!t || !t->is_string() || t->as_string() != q.ticket) return;
    }
    if (!q.lease.empty() && !namesLease(o, q.lease)) return;
    newest_first.push_back(std::move(o));
  };
  while (pos > 0 && newest_first.size() < q.limit) {
    const int64_t n = std::min<int64_t>(static_cast<int64_t>(chunk_bytes), pos);
    pos -= n;
    std::string data(static_cast<size_t>(n), '\0');
    in.seekg(pos);
    if (!in.read(data.data(), n))
      return core::Status(core::Code::kUnavailable, "the audit log cannot be read");
    data += pending;
    if (!tail_cut) {
      size_t nl = data.rfind('\n');
      if (nl == std::string::npos) {  // all of it belongs to the record being written
        pending.clear();
        continue;
      }
      data.resize(nl + 1);
      tail_cut = true;
    }
    // The first line of the chunk may have begun in the previous one (unless at the start).
    size_t first = 0;
    if (pos > 0) {
      size_t nl = data.find('\n');
      if (nl == std::string::npos) {
        pending = std::move(data);
        continue;
      }
      first = nl + 1;
    }
    pending = data.substr(0, first);
    size_t line_end = data.size();  // one past the line's newline
    while (line_end > first && newest_first.size() < q.limit) {
      size_t prev_nl = line_end >= 2 ? data.rfind('\n', line_end - 2) : std::string::npos;
      size_t line_start = prev_nl == std::string::npos || prev_nl < first ? first : prev_nl + 1;
      consider(std::string_view(data).substr(line_start, line_end - 1 - line_start));
      line_end = line_start;
    }
  }
  return std::vector<json::object>(std::make_move_iterator(newest_first.rbegin()),
                                   std::make_move_iterator(newest_first.rend()));
}

}  // namespace jitb::audit
