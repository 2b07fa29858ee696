// libFuzzer target: arbitrary bytes as the ITSM payloads the broker reads: a ServiceNow Table
// API answer ({"result": [...]}, its records, approval rows, dates, references), a Jira issue
// and approvals page, a Jira webhook signature, and a Link header.
#include <boost/json.hpp>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "broker/tickets/itsm_http.h"
#include "broker/tickets/jira_map.h"
#include "broker/tickets/servicenow_map.h"
#include "broker/tickets/webhook.h"

namespace json = boost::json;
using namespace jitb::tickets;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  (void)linkNext(in);
  (void)verifyHubSignature(in, "{}", "secret");
  (void)servicenow::parseTime(in);
  (void)jira::parseTime(in);
  json::error_code ec;
  json::parse_options opts;
  opts.max_depth = 32;
  json::value v = json::parse(in, ec, {}, opts);
  if (ec || !v.is_object()) return 0;
  const json::object& o = v.as_object();
  static const auto tables = servicenow::defaultTables();
  auto person = [](const std::string& id) { return id; };
  if (auto* result = o.if_contains("result"); result && result->is_array()) {
    std::vector<servicenow::ApprovalRow> rows;
    for (const auto& r : result->as_array()) {
      if (!r.is_object()) continue;
      const auto& rec = r.as_object();
      rows.push_back({servicenow::field(rec, "approver"), servicenow::field(rec, "state"),
                      servicenow::parseTime(servicenow::field(rec, "sys_updated_on"))});
      for (const auto& t : tables) (void)servicenow::toTicket(t, rec, rows, person);
    }
  }
  jira::Mapping m;
  m.project_keys = {"OPS"};
  m.subjects_field = "customfield_1";
  m.access_field = "customfield_2";
  m.window_start_field = "customfield_3";
  m.window_end_field = "customfield_4";
  std::vector<jira::Approval> approvals;
  if (auto* values = o.if_contains("values"); values && values->is_array())
    for (const auto& a : values->as_array())
      if (a.is_object()) approvals.push_back(jira::parseApproval(a.as_object(), "accountId"));
  (void)jira::toTicket(m, o, approvals);
  if (auto* f = o.if_contains("fields"); f && f->is_object())
    for (const auto& kv : f->as_object()) (void)jira::listValue(kv.value());
  return 0;
}
