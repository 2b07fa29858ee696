// Jira Service Management issues -> the normalised ticket (wire-formats.md §2). Pure.
#pragma once

#include <boost/json/fwd.hpp>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "broker/core/status.h"
#include "broker/tickets/ticket.h"

namespace jitb::tickets::jira {

struct Mapping {
  std::vector<std::string> project_keys;         // "OPS": ids OPS-<n> are Jira's
  // Status id -> ticket state (ids, not localised names). A status not listed maps by its
  // category: new -> pending, indeterminate -> approved, done -> closed.
  std::map<std::string, std::string> status_map;
  std::map<std::string, std::string> kind_map;   // issue type id -> standard|normal|emergency
  // Custom field ids, e.g. customfield_10050. Values may be text ("a, b"), a list of strings,
  // or a list of options ({"value": ...}); times are Jira datetimes or dates.
  std::string subjects_field, access_field, window_start_field, window_end_field;
  std::string identity = "accountId";            // accountId | emailAddress
};

// A JSM approval (GET /rest/servicedeskapi/request/{key}/approval values[]).
struct Approval {
  std::string final_decision;          // pending | approved | declined
  std::vector<std::string> approved_by;  // approvers whose approverDecision is approved
  std::vector<std::string> approved_by_ids;  // their accountIds, one per entry ("" if none)
  std::optional<core::TimePoint> completed;
};

// "2026-11-23T18:00:00.000+0000", "...+05:30", "...Z" or a date "2026-11-23" (UTC midnight).
std::optional<core::TimePoint> parseTime(std::string_view text);
// The entries of a list-ish field value (see Mapping).
std::vector<std::string> listValue(const boost::json::value& v);
// A user object's identity per `identity` ("" when absent).
std::string person(const boost::json::value& user, const std::string& identity);
// Parses one approval object.
Approval parseApproval(const boost::json::object& a, const std::string& identity);
// Whether `key` is an issue key of one of the configured projects.
bool ownsKey(const Mapping& m, std::string_view key);

core::StatusOr<Ticket> toTicket(const Mapping& m, const boost::json::object& issue,
                                const std::vector<Approval>& approvals);

// The `fields` parameter for GET /rest/api/2/issue/{key}.
std::string fieldsFor(const Mapping& m);

}  // namespace jitb::tickets::jira
