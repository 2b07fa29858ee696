// What every jitctl command shares: global flags, the broker connection, exit codes.
#pragma once

#include <boost/json/value.hpp>
#include <map>
#include <string>
#include <vector>

#include "clients/lib/args.h"
#include "clients/lib/https_client.h"

namespace jitb::jitctl {

// Documented exit codes (CONTRACT.md §7).
enum Exit { kOk = 0, kFailure = 1, kUsage = 2, kDenied = 3, kUnreachable = 4, kTicketClosed = 5 };

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

  static Context from(const client::Args& a);

  // Calls the broker; `reply` is filled on any HTTP answer. Returns an exit code: kOk for
  // 2xx, otherwise the code for the error, with the broker's error_description on stderr.
  int call(const std::string& method, const std::string& path,
           const std::map<std::string, std::string>& headers, const std::string& body,
           client::HttpReply& reply) const;
  // The admin token from JITBROKER_ADMIN_TOKEN_FILE (or DATA_DIR/admin.token in dev).
  std::string adminToken() const;
};

// Maps an error reply to an exit code and prints its error_description.
int reportError(const client::HttpReply& reply);

int usage(const std::string& why, const char* help);

}  // namespace jitb::jitctl
