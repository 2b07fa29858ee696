// Jira Service Management as a ticket source: the issue from the REST API v2 and its
// approvals from the Service Desk API, one issue at a time (JSM has no batch approvals
// endpoint). Thread-safe.
#pragma once

#include <memory>
#include <string>

#include "broker/tickets/itsm_http.h"
#include "broker/tickets/jira_map.h"
#include "broker/tickets/source.h"

namespace jitb::tickets::jira {

struct Settings {
  std::string base_url;        // https://<site>.atlassian.net
  std::string auth = "basic";  // basic (email + API token) | bearer (Data Center PAT)
  std::string user, token;
  Mapping mapping;
};

class Source final : public TicketSource {
 public:
  Source(Settings settings, std::shared_ptr<ItsmHttp> http);

  std::string_view name() const override { return "jira"; }
  bool owns(std::string_view ticket_id) const override { return ownsKey(s_.mapping, ticket_id); }
  core::StatusOr<FetchResult> fetch(const std::vector<std::string>& ids) override;
  size_t batchSize() const override { return 20; }

 private:
  core::StatusOr<HttpAnswer> get(const std::string& path);
  core::StatusOr<std::vector<Approval>> approvals(const std::string& key);

  Settings s_;
  std::shared_ptr<ItsmHttp> http_;
};

}  // namespace jitb::tickets::jira
