// ServiceNow records -> the normalised ticket (wire-formats.md §1). Pure functions over the
// Table API's raw values (sysparm_display_value=false): every value is a string, dates are
// UTC "YYYY-MM-DD HH:MM:SS" with no zone marker, references come in three shapes.
#pragma once

#include <boost/json/fwd.hpp>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "broker/core/status.h"
#include "broker/tickets/ticket.h"

namespace jitb::tickets::servicenow {

// Who may exchange a ticket and for what, when the record itself does not say.
struct Assignment {
  std::vector<std::string> subjects, access;
};

// How one table maps onto tickets. Defaults (see defaultTables()) are documented in
// docs/itsm.md.
struct TableMapping {
  std::string table;   // change_request | sc_req_item
  std::string prefix;  // the `number` prefix that routes ids here: CHG, RITM
  std::string subjects_field = "u_jit_subjects";  // comma- or newline-separated list
  std::string access_field = "u_jit_access";
  std::string window_start_field, window_end_field;
  std::string kind;  // fixed kind; empty: from the `type` field (change_request)
  // `state` codes in which an approved record may be used.
  std::vector<std::string> usable_states;
  std::vector<std::string> closed_states, canceled_states;
  // Added to what the fields say, keyed by assignment_group / cmdb_ci sys_id.
  std::map<std::string, Assignment> by_group, by_ci;
  // Standing access (service accounts): a record with no end in window_end_field is usable
  // this long after its start; reconciliation ends it when the record closes.
  bool standing = false;
  std::chrono::milliseconds standing_window{std::chrono::hours(24 * 90)};
};

std::vector<TableMapping> defaultTables();

struct ApprovalRow {
  std::string approver;  // sys_user sys_id
  std::string state;     // requested | approved | rejected | cancelled | not_required | ...
  std::optional<core::TimePoint> updated_at;
};

// "2025-03-01 14:00:00" (UTC) -> time point; nullopt for "" or anything else.
std::optional<core::TimePoint> parseTime(std::string_view text);
// The sys_id of a reference field in any of its shapes: "<id>", {"link","value"},
// {"display_value","link","value"}; "" when empty or not a reference.
std::string refValue(const boost::json::value& v);
// The string value of a field ("" when absent or not a string).
std::string field(const boost::json::object& rec, std::string_view name);
// "a, b\nc" -> {a, b, c}.
std::vector<std::string> splitList(std::string_view text);

// The ticket state for a record's raw `state`, `approval` and `on_hold` values.
std::string mapState(const TableMapping& m, std::string_view state, std::string_view approval,
                     std::string_view on_hold);

// The normalised ticket. `person` turns a sys_user sys_id into the identity used in
// requested_by/approved_by (email or user_name; the sys_id itself when unknown).
core::StatusOr<Ticket> toTicket(const TableMapping& m, const boost::json::object& record,
                                const std::vector<ApprovalRow>& approvals,
                                const std::function<std::string(const std::string&)>& person);

// The fields toTicket reads, for sysparm_fields.
std::string fieldsFor(const TableMapping& m);

}  // namespace jitb::tickets::servicenow
