// The normalised ticket (docs/tickets.md) and its validation. Every source (signed webhook,
// ServiceNow, Jira) produces this one shape.
#pragma once

#include <boost/json/fwd.hpp>
#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "broker/core/clock.h"
#include "broker/core/status.h"

namespace jitb::tickets {

struct Ticket {
  std::string id;
  std::string state;  // pending | approved | rejected | closed | canceled
  std::string kind;   // standard | normal | emergency
  std::string requested_by;
  std::vector<std::string> approved_by;
  // The source's immutable ids of those people (ServiceNow sys_user sys_id, Jira accountId):
  // separation of duties also compares these, so that renaming a user or changing an e-mail
  // address cannot make the requester pass for someone else. "" where unknown; approved_by_ids
  // is empty or holds one id per approved_by entry, in the same order.
  std::string requested_by_id;
  std::vector<std::string> approved_by_ids;
  std::vector<std::string> subjects;
  std::vector<std::string> access;
  core::TimePoint window_start;
  core::TimePoint window_end;
  core::TimePoint updated_at;
  // Where the ticket was read from (empty for the broker's own signed events): "servicenow"
  // or "jira", the table (ServiceNow), and the record's id there (sys_id, Jira issue id).
  std::string source_system, source_table, source_record_id;
};

// Validates every field: id syntax, enums, RFC 3339 times, window start < end, bounded list
// sizes and string lengths. Unknown keys are refused so a typo never passes silently.
core::StatusOr<Ticket> ticketFromJson(const boost::json::value& v);
boost::json::object ticketToJson(const Ticket& t);
// A ticket as the store keeps it (ticketToJson's text). Internal when it does not parse: the
// broker wrote it.
core::StatusOr<Ticket> parseStored(const std::string& json_text);

// Completes a ticket read from a source: sets the window, or, when the record has no usable
// window, keeps it but never as approved (no planned window authorises nothing); then runs
// the same checks as every other ticket (id syntax, list and string bounds).
core::StatusOr<Ticket> finishSourced(Ticket t, std::optional<core::TimePoint> start,
                                     std::optional<core::TimePoint> end);

int64_t toMillis(core::TimePoint t);
core::TimePoint fromMillis(int64_t ms);

}  // namespace jitb::tickets
