// jitctl exec: a token for the life of one command. The token is revoked when the command
// ends (success, failure or signal), and jitctl exits with the command's own code.
#include <fcntl.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "clients/jitctl/child.h"
#include "clients/jitctl/commands.h"
#include "clients/jitctl/context.h"

namespace jitb::jitctl {

namespace json = boost::json;

namespace {

constexpr const char* kHelp =
    "usage: jitctl exec --ticket ID [--audience A] [--scope S]... [--grant G] [--ttl 10m] -- CMD ...\n"
    "  Runs CMD with JITBROKER_TOKEN (and JITBROKER_TOKEN_FILE, a 0600 file) set, forwards\n"
    "  SIGINT/SIGTERM/SIGHUP/SIGQUIT to it, revokes the token when CMD ends, and exits with\n"
    "  CMD's exit code (128+N when a signal N ended it).\n";

}  // namespace

int cmdExec(const Argv& argv) {
  client::Args a;
  int code;
  if (!parseArgs(argv, kHelp, kTokenFlags, {}, a, code, /*json=*/false, /*short_help=*/false))
    return code;
  if (a.rest().empty()) return usage("exec needs a command after --", kHelp);
  Context c = Context::from(a);
  json::object r;
  if (int rc = requestToken(c, a, r); rc != kOk) return rc;
  std::string token(r.at("access_token").as_string());

  const char* tmpdir = std::getenv("TMPDIR");
  std::string path = std::string(tmpdir && *tmpdir ? tmpdir : "/tmp") + "/jitbroker-token-XXXXXX";
  int fd = mkstemp(path.data());  // 0600
  if (fd < 0 || write(fd, token.data(), token.size()) != static_cast<ssize_t>(token.size())) {
    std::fprintf(stderr, "jitctl: cannot write the token file\n");
    if (fd >= 0) close(fd);
    return kFailure;
  }
  close(fd);

  const int exit_code =
      runForwardingSignals(a.rest(), {{"JITBROKER_TOKEN", token}, {"JITBROKER_TOKEN_FILE", path}});
  unlink(path.c_str());

  // Revoke whatever happened to the command: the token must not outlive it.
  client::HttpReply reply;
  int rc = c.call("POST", "/v1/revoke", {{"Content-Type", "application/x-www-form-urlencoded"}},
                  "token=" + client::formEncode(token), reply);
  if (rc != kOk) std::fprintf(stderr, "jitctl: the token could not be revoked; it expires on its own\n");
  return exit_code;
}

}  // namespace jitb::jitctl
