// ServiceNow as a ticket source: the Table API (wire-formats.md §1) read with raw values, the
// approvals from sysapproval_approver and people from sys_user, a page of tickets per query.
// Thread-safe.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "broker/core/clock.h"
#include "broker/tickets/itsm_http.h"
#include "broker/tickets/servicenow_map.h"
#include "broker/tickets/source.h"

namespace jitb::tickets::servicenow {

struct Settings {
  std::string base_url;          // https://<instance>.service-now.com
  std::string auth = "basic";    // basic | oauth_password | oauth_client_credentials
  std::string user, password;    // basic, oauth_password
  std::string client_id, client_secret;  // oauth_*
  // The sys_user field that names people in requested_by/approved_by, so that separation of
  // duties compares like with like: email | user_name | sys_id.
  std::string identity_field = "email";
  std::vector<TableMapping> tables = defaultTables();
  size_t page_size = 100;
};

class Source final : public TicketSource {
 public:
  Source(Settings settings, std::shared_ptr<ItsmHttp> http, const core::Clock& clock);

  std::string_view name() const override { return "servicenow"; }
  bool owns(std::string_view ticket_id) const override;
  core::StatusOr<FetchResult> fetch(const std::vector<std::string>& ids) override;
  size_t batchSize() const override { return s_.page_size; }

 private:
  const TableMapping* tableFor(std::string_view id) const;
  // Every row of a query, following Link rel="next" on the same origin.
  core::StatusOr<std::vector<boost::json::object>> query(const std::string& table,
                                                        const std::string& sysparm_query,
                                                        const std::string& fields);
  core::StatusOr<HttpAnswer> get(const std::string& url);
  core::StatusOr<std::string> authorization(bool renew);

  Settings s_;
  std::shared_ptr<ItsmHttp> http_;
  const core::Clock& clock_;
  std::mutex mu_;  // guards the OAuth token
  std::string access_token_, refresh_token_;
  core::TimePoint token_expiry_{};
};

}  // namespace jitb::tickets::servicenow
