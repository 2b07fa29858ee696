#include "broker/tickets/ticket.h"

#include <boost/json.hpp>

#include "broker/core/duration.h"
#include "policies/engine/identity.h"
#include "policies/engine/ticket_state.h"

namespace jitb::tickets {

namespace json = boost::json;

namespace {

constexpr size_t kMaxList = 100;
constexpr size_t kMaxString = 512;

bool idOk(std::string_view id) {
  if (id.empty() || id.size() > 64 || !std::isalnum(static_cast<unsigned char>(id[0])))
    return false;
  for (char c : id)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.' &&
        c != ':')
      return false;
  return true;
}

bool printable(std::string_view s) {
  for (unsigned char c : s)
    if (c < 0x20 || c == 0x7f) return false;
  return true;
}

core::Status bad(const std::string& msg) { return core::invalidArgument("ticket: " + msg); }

// People and subjects are compared normalised (policies/engine/identity.h); what cannot be
// normalised is refused here, before anything is stored, so that "alice\u200b" can never be
// stored as someone other than alice. The ticket keeps the names as the source sent them: the
// audit log and GET show what the system of record said, and evaluation normalises anyway.
core::Status identity(const std::string& field, std::string_view value) {
  policies::IdentityProblem why = policies::IdentityProblem::kNone;
  if (policies::normaliseIdentity(value, &why)) return core::okStatus();
  return bad("'" + field + "' " + policies::identityProblemText(why));
}

core::Status str(const json::object& o, const char* key, std::string& out, bool required,
                 bool person = false) {
  auto it = o.find(key);
  if (it == o.end()) return required ? bad(std::string("'") + key + "' is required") : core::okStatus();
  if (!it->value().is_string()) return bad(std::string("'") + key + "' must be a string");
  out = std::string(it->value().as_string());
  if (person)
    if (core::Status st = identity(key, out); !st.ok()) return st;
  if (out.size() > kMaxString || !printable(out))
    return bad(std::string("'") + key + "' is too long or holds control characters");
  return core::okStatus();
}

core::Status list(const json::object& o, const char* key, std::vector<std::string>& out,
                  bool people = false) {
  auto it = o.find(key);
  if (it == o.end()) return core::okStatus();
  if (!it->value().is_array()) return bad(std::string("'") + key + "' must be a list of strings");
  const auto& a = it->value().as_array();
  if (a.size() > kMaxList)
    return bad(std::string("'") + key + "' has more than " + std::to_string(kMaxList) + " entries");
  for (const auto& e : a) {
    if (people && e.is_string())
      if (core::Status st =
              identity(std::string(key) + "[" + std::to_string(out.size()) + "]", e.as_string());
          !st.ok())
        return st;
    if (!e.is_string() || e.as_string().empty() || e.as_string().size() > kMaxString ||
        !printable(e.as_string()))
      return bad(std::string("'") + key + "' entries must be non-empty strings");
    out.emplace_back(e.as_string());
  }
  return core::okStatus();
}

core::Status time(const json::object& o, const char* key, core::TimePoint& out) {
  std::string s;
  if (core::Status st = str(o, key, s, true); !st.ok()) return st;
  auto t = core::parseRfc3339(s);
  if (!t) return bad(std::string("'") + key + "' must be an RFC 3339 time, got '" + s + "'");
  out = *t;
  return core::okStatus();
}

// An immutable id is opaque (a sys_id, a Jira accountId): compared byte for byte, so it must be
// printable ASCII without spaces. "" stands for a person the source gave no id for.
bool personIdOk(std::string_view id, size_t max) {
  if (id.size() > max) return false;
  for (unsigned char c : id)
    if (c <= 0x20 || c >= 0x7f) return false;
  return true;
}

core::Status personIds(const json::object& o, Ticket& t) {
  constexpr size_t kMaxId = 128;
  if (auto it = o.find("requested_by_id"); it != o.end()) {
    if (!it->value().is_string() || !personIdOk(it->value().as_string(), kMaxId))
      return bad("'requested_by_id' must be a string of up to 128 printable ASCII characters");
    t.requested_by_id = std::string(it->value().as_string());
  }
  auto it = o.find("approved_by_ids");
  if (it == o.end()) return core::okStatus();
  if (!it->value().is_array() || it->value().as_array().size() != t.approved_by.size())
    return bad("'approved_by_ids' must list one id (or \"\") for each entry of 'approved_by'");
  for (const auto& e : it->value().as_array()) {
    if (!e.is_string() || !personIdOk(e.as_string(), kMaxId))
      return bad(
          "'approved_by_ids' entries must be strings of up to 128 printable ASCII characters");
    t.approved_by_ids.emplace_back(e.as_string());
  }
  return core::okStatus();
}

}  // namespace

int64_t toMillis(core::TimePoint t) { return core::unixMillis(t); }

core::TimePoint fromMillis(int64_t ms) {
  return core::TimePoint(std::chrono::duration_cast<core::TimePoint::duration>(
      std::chrono::milliseconds(ms)));
}

core::StatusOr<Ticket> ticketFromJson(const json::value& v) {
  if (!v.is_object()) return bad("must be a JSON object");
  const auto& o = v.as_object();
  static const char* kKeys[] = {
      "id",          "state",           "kind",     "requested_by", "requested_by_id",
      "approved_by", "approved_by_ids", "subjects", "access",       "window",
      "updated_at",  "source"};
  for (const auto& kv : o) {
    bool known = false;
    for (const char* k : kKeys) known |= kv.key() == k;
    if (!known) return bad("unknown key '" + std::string(kv.key()) + "'");
  }
  Ticket t;
  core::Status st;
  if (!(st = str(o, "id", t.id, true)).ok()) return st;
  if (!idOk(t.id)) return bad("'id' must be 1-64 letters, digits, '-', '_', '.', ':'");
  if (!(st = str(o, "state", t.state, true)).ok()) return st;
  if (!parseTicketState(t.state))
    return bad("'state' must be pending, approved, rejected, closed or canceled");
  t.kind = "normal";
  if (!(st = str(o, "kind", t.kind, false)).ok()) return st;
  if (t.kind != "standard" && t.kind != "normal" && t.kind != "emergency")
    return bad("'kind' must be standard, normal or emergency");
  if (!(st = str(o, "requested_by", t.requested_by, true, true)).ok()) return st;
  if (t.requested_by.empty()) return bad("'requested_by' must not be empty");
  if (!(st = list(o, "approved_by", t.approved_by, true)).ok()) return st;
  if (!(st = list(o, "subjects", t.subjects, true)).ok()) return st;
  if (!(st = personIds(o, t)).ok()) return st;
  if (!(st = list(o, "access", t.access)).ok()) return st;
  auto w = o.find("window");
  if (w == o.end() || !w->value().is_object())
    return bad("'window' with 'start' and 'end' is required");
  for (const auto& kv : w->value().as_object())
    if (kv.key() != "start" && kv.key() != "end")
      return bad("unknown key 'window." + std::string(kv.key()) + "'");
  if (!(st = time(w->value().as_object(), "start", t.window_start)).ok()) return st;
  if (!(st = time(w->value().as_object(), "end", t.window_end)).ok()) return st;
  if (t.window_start >= t.window_end) return bad("window start must be before its end");
  if (!(st = time(o, "updated_at", t.updated_at)).ok()) return st;
  if (auto src = o.find("source"); src != o.end()) {
    if (!src->value().is_object()) return bad("'source' must be an object");
    const auto& so = src->value().as_object();
    for (const auto& kv : so)
      if (kv.key() != "system" && kv.key() != "table" && kv.key() != "record_id")
        return bad("unknown key 'source." + std::string(kv.key()) + "'");
    if (!(st = str(so, "system", t.source_system, true)).ok()) return st;
    if (!(st = str(so, "table", t.source_table, false)).ok()) return st;
    if (!(st = str(so, "record_id", t.source_record_id, false)).ok()) return st;
  }
  return t;
}

core::StatusOr<Ticket> parseStored(const std::string& text) {
  json::error_code ec;
  json::value v = json::parse(text, ec);
  auto t = ec ? core::StatusOr<Ticket>(core::internalError("stored ticket is not JSON"))
              : ticketFromJson(v);
  if (!t.ok()) return core::internalError("a stored ticket does not parse: " + t.status().message());
  return t;
}

core::StatusOr<Ticket> finishSourced(Ticket t, std::optional<core::TimePoint> start,
                                     std::optional<core::TimePoint> end) {
  // Tickets carry whole seconds: compare what will be stored.
  auto whole = [](core::TimePoint tp) { return std::chrono::floor<std::chrono::seconds>(tp); };
  if (start) start = whole(*start);
  if (end) end = whole(*end);
  if (!start || !end || *start >= *end) {
    if (t.state == "approved") t.state = "pending";
    start = t.updated_at;
    end = t.updated_at + std::chrono::seconds(1);
  }
  t.window_start = *start;
  t.window_end = *end;
  return ticketFromJson(json::value(ticketToJson(t)));
}

json::object ticketToJson(const Ticket& t) {
  auto arr = [](const std::vector<std::string>& v) {
    json::array a;
    for (const auto& s : v) a.emplace_back(s);
    return a;
  };
  json::object o;
  o["id"] = t.id;
  o["state"] = t.state;
  o["kind"] = t.kind;
  o["requested_by"] = t.requested_by;
  if (!t.requested_by_id.empty()) o["requested_by_id"] = t.requested_by_id;
  o["approved_by"] = arr(t.approved_by);
  if (!t.approved_by_ids.empty()) o["approved_by_ids"] = arr(t.approved_by_ids);
  o["subjects"] = arr(t.subjects);
  o["access"] = arr(t.access);
  o["window"] = {{"start", core::formatRfc3339(t.window_start)},
                 {"end", core::formatRfc3339(t.window_end)}};
  o["updated_at"] = core::formatRfc3339(t.updated_at);
  if (!t.source_system.empty()) {
    json::object src{{"system", t.source_system}, {"record_id", t.source_record_id}};
    if (!t.source_table.empty()) src["table"] = t.source_table;
    o["source"] = std::move(src);
  }
  return o;
}

}  // namespace jitb::tickets
