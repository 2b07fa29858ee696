#include "clients/jitctl/context.h"

#include <algorithm>
#include <boost/json.hpp>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "broker/core/duration.h"
#include "broker/core/files.h"

namespace jitb::jitctl {

namespace json = boost::json;

namespace {
std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}
}  // namespace

Context Context::from(const client::Args& a) {
  Context c;
  c.args = a;
  c.data_dir = a.get("--data-dir", "./var");
  c.broker = a.get("--broker", env("JITBROKER_URL"));
  if (c.broker.empty()) c.broker = "https://127.0.0.1:8443";
  while (!c.broker.empty() && c.broker.back() == '/') c.broker.pop_back();
  c.ca_file = a.get("--ca-file", env("JITBROKER_CA"));
  // In dev, the broker's own CA bundle is where `jitbroker dev` left it.
  if (c.ca_file.empty()) {
    std::string dev = c.data_dir + "/tls/ca.pem";
    if (std::ifstream(dev).good()) c.ca_file = dev;
  }
  c.json = a.has("--json");
  return c;
}

std::string Context::adminToken() const {
  std::string from = "JITBROKER_ADMIN_TOKEN_FILE";
  std::string file = env(from.c_str());
  if (file.empty()) {
    file = data_dir + "/admin.token";
    from = "--data-dir";
  }
  // Said here, before any request: sent empty, the token would come back as a bare 401.
  auto token = core::readTrimmedFile(file);
  if (!token.ok()) {
    std::fprintf(stderr, "jitctl: no admin token (from %s): %s\n", from.c_str(),
                 token.status().message().c_str());
    std::exit(kUsage);
  }
  return *token;
}

int reportError(const client::HttpReply& reply) {
  json::error_code ec;
  json::value v = json::parse(reply.body, ec);
  std::string error, desc, reason;
  if (!ec && v.is_object()) {
    const auto& o = v.as_object();
    if (auto* e = o.if_contains("error"); e && e->is_string()) error = e->as_string();
    if (auto* d = o.if_contains("error_description"); d && d->is_string()) desc = d->as_string();
    if (auto* r = o.if_contains("reason"); r && r->is_string()) reason = r->as_string();
  }
  std::fprintf(stderr, "jitctl: %s%s%s (HTTP %d)\n", error.empty() ? "error" : error.c_str(),
               desc.empty() ? "" : ": ", desc.c_str(), reply.status);
  if (reason == "ticket_closed") return kTicketClosed;
  if (reply.status == 503) {
    std::fprintf(stderr, "jitctl: the broker is temporarily unavailable; try again later\n");
    return kUnavailable;
  }
  if (reply.status == 401 || reply.status == 403 || reply.status == 429 ||
      error == "invalid_grant" || error == "invalid_scope" || error == "invalid_target")
    return kDenied;
  return kFailure;
}

int Context::call(const std::string& method, const std::string& path,
                  const std::map<std::string, std::string>& headers, const std::string& body,
                  client::HttpReply& reply) const {
  client::HttpOptions opts;
  opts.ca_file = ca_file;
  auto r = send ? send(method, broker + path, headers, body, opts)
                : client::httpsRequest(method, broker + path, headers, body, opts);
  if (!r.ok()) {
    std::fprintf(stderr, "jitctl: %s\n", r.status().message().c_str());
    return r.status().code() == core::Code::kInvalidArgument ? kUsage : kUnreachable;
  }
  reply = std::move(*r);
  if (reply.status >= 200 && reply.status < 300) return kOk;
  return reportError(reply);
}

bool parseArgs(const std::vector<std::string>& argv, const char* help,
               std::set<std::string> value_flags, std::set<std::string> switches, client::Args& a,
               int& code, bool json, bool short_help) {
  value_flags.insert(kGlobalFlags.begin(), kGlobalFlags.end());
  switches.insert("--help");
  for (const auto& arg : argv) {
    if (arg == "--" || !short_help) break;
    if (arg == "-h") {
      std::fputs(help, stdout);
      code = kOk;
      return false;
    }
  }
  if (json) switches.insert("--json");
  if (auto err = client::Args::parse(argv, value_flags, switches, a)) {
    code = usage(*err, help);
    return false;
  }
  if (a.has("--help")) {
    std::fputs(help, stdout);
    code = kOk;
    return false;
  }
  return true;
}

void warnShorter(int64_t asked, int64_t granted) {
  auto fmt = [](int64_t s) { return core::formatDuration(std::chrono::seconds(s)); };
  std::fprintf(stderr,
               "jitctl: the broker granted %s, not the %s asked (--ttl is capped by the grant's "
               "max_ttl and the ticket's window)\n",
               fmt(granted).c_str(), fmt(asked).c_str());
}

void printJson(const json::value& v) { std::printf("%s\n", json::serialize(v).c_str()); }

std::map<std::string, std::string> adminHeaders(const Context& c) {
  return {{"Authorization", "Bearer " + c.adminToken()}};
}

int Context::adminCall(const std::string& method, const std::string& path,
                       client::HttpReply& reply, const std::string& body,
                       std::map<std::string, std::string> headers) const {
  headers.merge(adminHeaders(*this));
  return call(method, path, headers, body, reply);
}

int Context::adminPages(const std::string& path, const char* key, json::array& items) const {
  const char* sep = path.find('?') == std::string::npos ? "?" : "&";
  std::string cursor;
  for (;;) {
    client::HttpReply reply;
    std::string page = path;
    if (!cursor.empty()) page += sep + ("cursor=" + client::formEncode(cursor));
    if (int rc = adminCall("GET", page, reply); rc != kOk) return rc;
    json::value v = json::parse(reply.body);
    for (auto& item : v.at(key).as_array()) items.push_back(item);
    if (v.at("next").is_null()) return kOk;
    cursor = std::string(v.at("next").as_string());
  }
}

bool Context::printedRaw(const client::HttpReply& reply) const {
  if (json) std::printf("%s\n", reply.body.c_str());
  return json;
}

int runAdminCommand(const std::vector<std::string>& argv, const AdminCommand& cmd) {
  client::Args a;
  int code;
  if (!parseArgs(argv, cmd.help, {}, {}, a, code)) return code;
  const auto& pos = a.positional();
  if (pos.size() != cmd.words.size() + cmd.ids ||
      !std::equal(cmd.words.begin(), cmd.words.end(), pos.begin()))
    return usage(cmd.expected, cmd.help);
  std::vector<std::string> ids;
  for (auto it = pos.begin() + cmd.words.size(); it != pos.end(); ++it)
    ids.push_back(client::formEncode(*it));
  return cmd.call(Context::from(a), ids);
}

int AdminCommand::call(const Context& c, const std::vector<std::string>& ids) const {
  client::HttpReply reply;
  if (int rc = c.adminCall(method, path(ids), reply); rc != kOk) return rc;
  return c.printedRaw(reply) ? kOk : print(reply);
}

int usage(const std::string& why, const char* help) {
  if (!why.empty()) std::fprintf(stderr, "jitctl: %s\n", why.c_str());
  std::fputs(help, stderr);
  return kUsage;
}

}  // namespace jitb::jitctl
