// What every jitctl command shares: global flags, the broker connection, exit codes.
#pragma once

#include <boost/json/array.hpp>
#include <boost/json/value.hpp>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "clients/lib/args.h"
#include "clients/lib/https_client.h"

namespace jitb::jitctl {

// Documented exit codes (jitctl --help, docs/jitctl.md). kUnreachable is only for a broker
// that cannot be reached (connection or TLS); a broker that answers 503 is kUnavailable.
enum Exit {
  kOk = 0,
  kFailure = 1,
  kUsage = 2,
  kDenied = 3,
  kUnreachable = 4,
  kTicketClosed = 5,
  kUnavailable = 6
};

// Flags every command accepts, with their environment fallbacks.
inline const std::set<std::string> kGlobalFlags = {
    "--broker", "--ca-file", "--subject-token-file", "--subject-token-env",
    "--subject-audience", "--data-dir"};

struct Context {
  std::string broker;      // --broker / JITBROKER_URL
  std::string ca_file;     // --ca-file / JITBROKER_CA
  std::string data_dir;    // --data-dir (dev commands), default ./var
  client::Args args;
  bool json = false;
  // How a request is sent: client::httpsRequest when empty (tests put a fake broker here).
  std::function<core::StatusOr<client::HttpReply>(
      const std::string& method, const std::string& url,
      const std::map<std::string, std::string>& headers, const std::string& body,
      const client::HttpOptions& opts)>
      send;

  static Context from(const client::Args& a);

  // Calls the broker; `reply` is filled on any HTTP answer. Returns an exit code: kOk for
  // 2xx, otherwise the code for the error, with the broker's error_description on stderr.
  int call(const std::string& method, const std::string& path,
           const std::map<std::string, std::string>& headers, const std::string& body,
           client::HttpReply& reply) const;
  // The admin token from JITBROKER_ADMIN_TOKEN_FILE (or DATA_DIR/admin.token in dev).
  std::string adminToken() const;
  // call() with the admin bearer added to `headers`.
  int adminCall(const std::string& method, const std::string& path, client::HttpReply& reply,
                const std::string& body = "",
                std::map<std::string, std::string> headers = {}) const;
  // GETs `path` (which may hold a query) as admin page by page, following each answer's
  // "next" cursor, and appends each page's `key` array to `items`. An exit code as call().
  int adminPages(const std::string& path, const char* key, boost::json::array& items) const;
  // With --json, prints the broker's answer as it came and returns true (nothing more to
  // print); false otherwise.
  bool printedRaw(const client::HttpReply& reply) const;
};

// Maps an error reply to an exit code and prints its error_description.
int reportError(const client::HttpReply& reply);

int usage(const std::string& why, const char* help);

// Parses a command's arguments (plus the global flags and --help, and --json when `json`).
// False when the command should return `code` at once: a usage error, or --help printed.
// `short_help`: "-h" is --help too (the admin commands; the others refuse it as unknown).
bool parseArgs(const std::vector<std::string>& argv, const char* help,
               std::set<std::string> value_flags, std::set<std::string> switches, client::Args& a,
               int& code, bool json = true, bool short_help = true);

// Prints a JSON value on one line to stdout.
void printJson(const boost::json::value& v);

// Says on stderr that the broker granted a shorter life than --ttl asked (seconds).
void warnShorter(int64_t asked, int64_t granted);

// The admin bearer header.
std::map<std::string, std::string> adminHeaders(const Context& c);

// The shape of the simple admin commands: fixed `words` first (e.g. "show"), then `ids`
// positional arguments, one admin request without a body, and its answer printed as it came
// with --json, else by `print` (which returns the exit code).
struct AdminCommand {
  const char* help;
  const char* expected;  // the usage error when the words or the count do not match
  std::vector<std::string> words;
  size_t ids = 0;
  const char* method = "GET";
  std::function<std::string(const std::vector<std::string>& ids)> path;  // ids percent-encoded
  std::function<int(const client::HttpReply& answer)> print;

  // The request and the printing, once the arguments have been checked.
  int call(const Context& c, const std::vector<std::string>& ids) const;
};
int runAdminCommand(const std::vector<std::string>& argv, const AdminCommand& cmd);

}  // namespace jitb::jitctl
