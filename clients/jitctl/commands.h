// jitctl's subcommands. Each takes its arguments after the command words and returns an exit
// code (context.h).
#pragma once

#include <boost/json/object.hpp>
#include <set>
#include <string>
#include <vector>

namespace jitb::client {
class Args;
}

namespace jitb::jitctl {

using Argv = std::vector<std::string>;
struct Context;

// Shared by token and exec: the flags of a token request, and the request itself.
extern const std::set<std::string> kTokenFlags;
int requestToken(const Context& c, const client::Args& a, boost::json::object& out);
// Shared by cert and agent: makes a key, gets a certificate (identity: the subject token, or
// `client_cert` over mTLS when given) and writes --cert-out/--key-out/--chain-out (0600).
extern const std::set<std::string> kCertFlags;
int issueAndWrite(const Context& c, const client::Args& a, const std::string& client_cert,
                  const std::string& client_key, boost::json::object& out);

int cmdAuditVerify(const Argv& args);
int cmdAuditExport(const Argv& args);
int cmdDevTicket(const Argv& args);
int cmdLeases(const Argv& args);
int cmdRevoke(const Argv& args);
int cmdTicketsShow(const Argv& args);
int cmdToken(const Argv& args);
int cmdPolicy(const Argv& args);
int cmdCert(const Argv& args);
int cmdExec(const Argv& args);
int cmdAgent(const Argv& args);
int cmdSsh(const Argv& args);
int cmdSshCert(const Argv& args);
int cmdDevSubjectToken(const Argv& args);
int cmdLease(const Argv& args);
int cmdReviews(const Argv& args);
int cmdIntrospect(const Argv& args);
int cmdKeys(const Argv& args);
int cmdPolicyReload(const Argv& args);
int cmdCompletion(const Argv& args);
int cmdDb(const Argv& args);

}  // namespace jitb::jitctl
