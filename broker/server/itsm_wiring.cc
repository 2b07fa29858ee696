#include "broker/server/itsm_wiring.h"

#include "broker/api/itsm_api.h"
#include "broker/core/files.h"
#include "broker/tickets/jira_source.h"
#include "broker/tickets/servicenow_source.h"
#include "clients/lib/https_client.h"

namespace jitb::server {

namespace {

core::StatusOr<std::string> secret(const std::string& path, const char* what) {
  auto s = core::readTrimmedFile(path);
  if (!s.ok()) return core::invalidArgument(std::string(what) + ": " + s.status().message());
  return s;
}

// Moves a value that was read into `out`, or passes its failure on.
core::Status into(core::StatusOr<std::string> read, std::string& out) {
  if (!read.ok()) return read.status();
  out = std::move(*read);
  return core::okStatus();
}

std::shared_ptr<tickets::ItsmHttp> httpFor(const ItsmHttpSettings& h) {
  client::HttpOptions opts;
  opts.ca_file = h.ca_file;
  opts.timeout = h.timeout;
  tickets::HttpTransport transport = [opts](const tickets::HttpCall& c) -> core::StatusOr<tickets::HttpAnswer> {
    auto r = client::httpsRequest(c.method, c.url, c.headers, c.body, opts);
    // The URL and the socket error are for the log; a denied caller learns only the gist.
    if (!r.ok()) return core::Status(r.status().code(), "connection failed", r.status().message());
    return tickets::HttpAnswer{r->status, std::move(r->headers), std::move(r->body)};
  };
  tickets::RetryPolicy policy;
  policy.max_attempts = static_cast<int>(h.max_attempts);
  policy.requests_per_second = h.requests_per_second;
  policy.lookup_share = h.lookup_share;
  return std::make_shared<tickets::ItsmHttp>(std::move(transport), policy);
}

}  // namespace

core::StatusOr<std::unique_ptr<ItsmParts>> wireItsm(const Config& cfg, tickets::Refresher& refresher,
                                                    store::Store& store, metrics::Registry& metrics,
                                                    const core::Clock& clock, http::Router& router) {
  auto parts = std::make_unique<ItsmParts>();
  api::ItsmApiDeps deps{refresher, store, clock, nullptr, {}, nullptr, {}};
  auto add = [&](std::shared_ptr<tickets::TicketSource> s, std::chrono::milliseconds interval) {
    refresher.addSource(s);
    parts->pollers.push_back(
        std::make_unique<tickets::Poller>(refresher, *s, store, metrics, clock, interval));
    parts->sources.push_back(std::move(s));
    return parts->sources.back().get();
  };
  if (const auto& sn = cfg.servicenow) {
    tickets::servicenow::Settings st = sn->settings;
    core::Status read = core::okStatus();
    if (!sn->password_file.empty())
      read = into(secret(sn->password_file, "tickets.servicenow.password_file"), st.password);
    if (read.ok() && !sn->client_secret_file.empty())
      read = into(secret(sn->client_secret_file, "tickets.servicenow.client_secret_file"),
                  st.client_secret);
    if (read.ok())
      read = into(core::readOrCreateSecret(sn->notify_secret_file), deps.servicenow_secret);
    if (!read.ok()) return read;
    deps.servicenow = add(std::make_shared<tickets::servicenow::Source>(std::move(st), httpFor(sn->http), clock),
                          sn->poll_interval);
  }
  if (const auto& jc = cfg.jira) {
    tickets::jira::Settings st = jc->settings;
    core::Status read = into(secret(jc->token_file, "tickets.jira.token_file"), st.token);
    if (read.ok()) read = into(core::readOrCreateSecret(jc->webhook_secret_file), deps.jira_secret);
    if (!read.ok()) return read;
    deps.jira = add(std::make_shared<tickets::jira::Source>(std::move(st), httpFor(jc->http)), jc->poll_interval);
  }
  api::addItsmRoutes(router, std::move(deps));
  return parts;
}

}  // namespace jitb::server
